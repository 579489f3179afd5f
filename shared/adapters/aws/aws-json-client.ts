import { AwsV4Signer } from "aws4fetch";

/**
 * A lean client for AWS services of the JSON 1.0 protocol (DynamoDB, Step Functions): every
 * operation is `POST /` with `X-Amz-Target: <prefix>.<Operation>` and a JSON body, signed with
 * SigV4 (aws4fetch, over the platform's `fetch`). It replaces the AWS SDK clients of those two
 * services, whose import alone costs the API Lambda tens of milliseconds of cold start.
 */

/** How a service is addressed and signed. */
export interface AwsJsonService {
  /** SigV4 signing name, also the first label of the default endpoint's host. */
  readonly signingName: string;
  /** Prefix of `X-Amz-Target` (`<prefix>.<Operation>`). */
  readonly targetPrefix: string;
}

export const DYNAMODB: AwsJsonService = { signingName: "dynamodb", targetPrefix: "DynamoDB_20120810" };
export const STEP_FUNCTIONS: AwsJsonService = { signingName: "states", targetPrefix: "AWSStepFunctions" };

export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string | undefined;
}

export interface AwsJsonClientOptions {
  service: AwsJsonService;
  region: string;
  /** Default: `https://<signingName>.<region>.amazonaws.com` (`.amazonaws.com.cn` in China). */
  endpoint?: string | undefined;
  /**
   * Default: read at each call from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
   * AWS_SESSION_TOKEN, which Lambda sets for the function's role.
   */
  credentials?: AwsCredentials | undefined;
  /** Attempts per call, the first included (default 3, like the SDK's standard retry mode). */
  maxAttempts?: number | undefined;
  /** Base of the exponential backoff, ms (default 100); a delay is never above 20 s. */
  baseDelayMs?: number | undefined;
  /** Waits between attempts (tests pass one that records the delay and returns at once). */
  sleep?: ((ms: number) => Promise<void>) | undefined;
  /** Signing time (tests fix it). */
  now?: (() => Date) | undefined;
  /** Where credentials are read from when `credentials` is not set (default process.env). */
  env?: NodeJS.ProcessEnv | undefined;
}

export const DEFAULT_MAX_ATTEMPTS = 3;
export const DEFAULT_BASE_DELAY_MS = 100;
export const MAX_DELAY_MS = 20_000;

/**
 * Error codes the SDK's standard retry mode treats as throttling (THROTTLING_ERROR_CODES of
 * @smithy/service-error-classification): retried with backoff.
 */
const THROTTLING_CODES = new Set([
  "BandwidthLimitExceeded",
  "EC2ThrottledException",
  "LimitExceededException",
  "PriorRequestNotComplete",
  "ProvisionedThroughputExceededException",
  "RequestLimitExceeded",
  "RequestThrottled",
  "RequestThrottledException",
  "SlowDown",
  "ThrottledException",
  "Throttling",
  "ThrottlingException",
  "TooManyRequestsException",
  // DynamoDB: a retry of a TransactWriteItems (same ClientRequestToken) while the first runs.
  "TransactionInProgressException",
]);
/** The SDK's TRANSIENT_ERROR_CODES and TRANSIENT_ERROR_STATUS_CODES: retried too. */
const TRANSIENT_CODES = new Set(["TimeoutError", "RequestTimeout", "RequestTimeoutException"]);
const TRANSIENT_STATUS_CODES = new Set([500, 502, 503, 504]);

/** An error response of an AWS service: `name` is the service's error code. */
export class AwsServiceError extends Error {
  /** The error code, as in `name` (e.g. `ConditionalCheckFailedException`). */
  readonly code: string;
  readonly statusCode: number;
  /** The parsed JSON body of the response (`{}` when it was not JSON). */
  readonly body: Readonly<Record<string, unknown>>;
  readonly requestId: string | undefined;

  constructor(fields: {
    code: string;
    message: string;
    statusCode: number;
    body: Record<string, unknown>;
    requestId?: string | undefined;
  }) {
    super(fields.message);
    this.name = fields.code;
    this.code = fields.code;
    this.statusCode = fields.statusCode;
    this.body = fields.body;
    this.requestId = fields.requestId;
  }

  /** Throttling, HTTP 429 or a transient server error: worth another attempt after a delay. */
  get retryable(): boolean {
    return (
      this.statusCode === 429 ||
      TRANSIENT_STATUS_CODES.has(this.statusCode) ||
      THROTTLING_CODES.has(this.code) ||
      TRANSIENT_CODES.has(this.code)
    );
  }
}

export function isAwsServiceError(err: unknown, code?: string): err is AwsServiceError {
  return err instanceof AwsServiceError && (code === undefined || err.code === code);
}

/** No credentials in the options nor in the environment. */
export class AwsCredentialsMissingError extends Error {
  constructor() {
    super(
      "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for " +
        "temporary ones) in the environment, as Lambda does, or pass credentials to the client",
    );
    this.name = "AwsCredentialsMissingError";
  }
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** `aws.protocols#awsJson1_0#ThrottlingException:http://…` → `ThrottlingException` (as the SDK does). */
function sanitizeErrorCode(raw: string): string {
  let code = raw.split(",")[0] ?? "";
  code = code.split(":")[0] ?? "";
  return code.slice(code.lastIndexOf("#") + 1).trim();
}

function errorFrom(status: number, headers: Headers, text: string): AwsServiceError {
  let body: Record<string, unknown> = {};
  try {
    const parsed: unknown = text ? JSON.parse(text) : {};
    if (isRecord(parsed)) body = parsed;
  } catch {
    // Not JSON (e.g. a proxy's HTML page): the status alone classifies it.
  }
  const rawCode =
    headers.get("x-amzn-errortype") ??
    (typeof body.code === "string" ? body.code : undefined) ??
    (typeof body.__type === "string" ? body.__type : undefined);
  const code = (rawCode && sanitizeErrorCode(rawCode)) || "UnknownError";
  const message =
    typeof body.message === "string"
      ? body.message
      : typeof body.Message === "string"
        ? body.Message
        : `${code} (HTTP ${status})`;
  return new AwsServiceError({
    code,
    message,
    statusCode: status,
    body,
    requestId: headers.get("x-amzn-requestid") ?? undefined,
  });
}

/** A body for the JSON protocol: blobs (Uint8Array, e.g. DynamoDB's `B`) as base64. */
function toJson(input: object): string {
  return JSON.stringify(input, function (this: Record<string, unknown>, key: string, value: unknown) {
    // The holder's own value: a Buffer's toJSON() has already run on `value`.
    const original = key === "" ? value : this[key];
    if (ArrayBuffer.isView(original)) {
      return Buffer.from(original.buffer, original.byteOffset, original.byteLength).toString("base64");
    }
    return value;
  });
}

function regionDomain(region: string): string {
  return region.startsWith("cn-") ? "amazonaws.com.cn" : "amazonaws.com";
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class AwsJsonClient {
  readonly endpoint: string;
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly now: () => Date;
  /** Derived signing keys (per secret, day, region, service), reused across calls. */
  private readonly signingKeys = new Map<string, ArrayBuffer>();

  constructor(private readonly options: AwsJsonClientOptions) {
    this.endpoint =
      options.endpoint ??
      `https://${options.service.signingName}.${options.region}.${regionDomain(options.region)}`;
    this.maxAttempts = Math.max(1, options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS);
    this.baseDelayMs = options.baseDelayMs ?? DEFAULT_BASE_DELAY_MS;
    this.sleep = options.sleep ?? defaultSleep;
    this.now = options.now ?? (() => new Date());
  }

  private credentials(): AwsCredentials {
    if (this.options.credentials) return this.options.credentials;
    const env = this.options.env ?? process.env;
    const accessKeyId = env.AWS_ACCESS_KEY_ID;
    const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
    if (!accessKeyId || !secretAccessKey) throw new AwsCredentialsMissingError();
    return { accessKeyId, secretAccessKey, sessionToken: env.AWS_SESSION_TOKEN || undefined };
  }

  /** Full jitter: a random delay up to base × 2^retry, capped at 20 s. */
  private backoff(retry: number): number {
    return Math.floor(Math.random() * Math.min(MAX_DELAY_MS, this.baseDelayMs * 2 ** retry));
  }

  /**
   * Calls one operation. Throttling, HTTP 429, transient server errors (500, 502, 503, 504) and
   * network errors are retried with exponential backoff and full jitter; any other error
   * response is thrown at once as an AwsServiceError.
   */
  async call<T>(operation: string, input: object): Promise<T> {
    const body = toJson(input);
    for (let attempt = 1; ; attempt++) {
      let res: { status: number; headers: Headers; text: string };
      try {
        res = await this.send(operation, body);
      } catch (err) {
        // fetch rejected (connection refused or reset, DNS, a body cut short): try again.
        if (err instanceof AwsCredentialsMissingError || attempt >= this.maxAttempts) throw err;
        await this.sleep(this.backoff(attempt - 1));
        continue;
      }
      if (res.status >= 200 && res.status < 300) return (res.text ? JSON.parse(res.text) : {}) as T;
      const error = errorFrom(res.status, res.headers, res.text);
      if (!error.retryable || attempt >= this.maxAttempts) throw error;
      await this.sleep(this.backoff(attempt - 1));
    }
  }

  private async send(
    operation: string,
    body: string,
  ): Promise<{ status: number; headers: Headers; text: string }> {
    const credentials = this.credentials();
    const signer = new AwsV4Signer({
      method: "POST",
      url: `${this.endpoint}/`,
      headers: {
        "content-type": "application/x-amz-json-1.0",
        "x-amz-target": `${this.options.service.targetPrefix}.${operation}`,
      },
      body,
      accessKeyId: credentials.accessKeyId,
      secretAccessKey: credentials.secretAccessKey,
      ...(credentials.sessionToken ? { sessionToken: credentials.sessionToken } : {}),
      service: this.options.service.signingName,
      region: this.options.region,
      datetime: this.now()
        .toISOString()
        .replace(/[:-]|\.\d{3}/g, ""),
      // Sign content-type too, as the SDK does (aws4fetch leaves it out by default).
      allHeaders: true,
      cache: this.signingKeys,
    });
    if (this.signingKeys.size > 16) this.signingKeys.clear();
    const signed = await signer.sign();
    const res = await fetch(signed.url, { method: "POST", headers: signed.headers, body });
    return { status: res.status, headers: res.headers, text: await res.text() };
  }
}
