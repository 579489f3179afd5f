import { createHash, createHmac, type Hash, type Hmac } from "node:crypto";
import { SignatureV4 } from "@smithy/signature-v4";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  AwsCredentialsMissingError,
  AwsJsonClient,
  type AwsJsonClientOptions,
  AwsServiceError,
  DYNAMODB,
  MAX_DELAY_MS,
  STEP_FUNCTIONS,
} from "../../shared/adapters/aws/aws-json-client.js";
import { awsError, FakeAwsJsonEndpoint } from "../support/fake-aws-json.js";

// The lean AWS JSON 1.0 client against a scripted endpoint on loopback: signing, error mapping
// and retries. Delays are recorded instead of slept.

const CREDENTIALS = {
  accessKeyId: "AKIDEXAMPLE",
  secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
  sessionToken: "IQoJb3JpZ2luX2VjEXAMPLETOKEN//////////wEaCXVzLWVhc3QtMSJHMEUCIQ",
};
const SIGNING_TIME = new Date("2026-03-01T12:34:56.789Z");

/** SHA-256 and HMAC-SHA-256 from node:crypto, in the shape @smithy/signature-v4 expects. */
class NodeSha256 {
  private hash: Hash | Hmac;
  constructor(private readonly secret?: string | ArrayBuffer | ArrayBufferView) {
    this.hash = this.make();
  }
  private make(): Hash | Hmac {
    if (this.secret === undefined) return createHash("sha256");
    const key =
      typeof this.secret === "string"
        ? this.secret
        : ArrayBuffer.isView(this.secret)
          ? Buffer.from(this.secret.buffer, this.secret.byteOffset, this.secret.byteLength)
          : Buffer.from(this.secret);
    return createHmac("sha256", key);
  }
  update(data: string | Uint8Array): void {
    this.hash.update(data);
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
  reset(): void {
    this.hash = this.make();
  }
}

const endpoint = new FakeAwsJsonEndpoint();
let delays: number[] = [];

function client(options: Partial<AwsJsonClientOptions> = {}): AwsJsonClient {
  return new AwsJsonClient({
    service: DYNAMODB,
    region: "eu-west-1",
    endpoint: endpoint.url,
    credentials: CREDENTIALS,
    sleep: async (ms) => {
      delays.push(ms);
    },
    ...options,
  });
}

beforeAll(async () => {
  await endpoint.start();
});
afterAll(() => endpoint.stop());
beforeEach(() => {
  endpoint.reset();
  delays = [];
});

describe("AWS JSON 1.0 client: requests and signing", () => {
  it("signs exactly as the SDK's own SigV4 signer does", async () => {
    const body = { TableName: "t", Key: { pk: { S: "a b/ü" } }, ConsistentRead: true };
    await client({ now: () => SIGNING_TIME }).call("GetItem", body);
    const [sent] = endpoint.requests;
    if (!sent) throw new Error("no request");
    expect(sent.target).toBe("DynamoDB_20120810.GetItem");
    expect(sent.headers["content-type"]).toBe("application/x-amz-json-1.0");

    const url = new URL(endpoint.url);
    const signer = new SignatureV4({
      credentials: CREDENTIALS,
      region: "eu-west-1",
      service: "dynamodb",
      sha256: NodeSha256,
      applyChecksum: false,
    });
    const expected = await signer.sign(
      {
        method: "POST",
        protocol: url.protocol,
        hostname: url.hostname,
        port: Number(url.port),
        path: "/",
        query: {},
        headers: {
          host: url.host,
          "content-type": "application/x-amz-json-1.0",
          "x-amz-target": "DynamoDB_20120810.GetItem",
        },
        body: sent.rawBody,
      },
      { signingDate: SIGNING_TIME },
    );
    expect(sent.rawBody).toBe(JSON.stringify(body));
    expect(sent.headers["x-amz-date"]).toBe("20260301T123456Z");
    expect({
      authorization: sent.headers.authorization,
      "x-amz-date": sent.headers["x-amz-date"],
      "x-amz-security-token": sent.headers["x-amz-security-token"],
    }).toEqual({
      authorization: expected.headers.authorization,
      "x-amz-date": expected.headers["x-amz-date"],
      "x-amz-security-token": expected.headers["x-amz-security-token"],
    });
    expect(sent.headers.authorization).toContain("/20260301/eu-west-1/dynamodb/aws4_request");
  });

  it("reads credentials from the environment at call time, and says so when there are none", async () => {
    const env: NodeJS.ProcessEnv = {};
    const c = client({ credentials: undefined, env });
    await expect(c.call("ListTables", {})).rejects.toBeInstanceOf(AwsCredentialsMissingError);
    expect(endpoint.requests).toHaveLength(0);
    env.AWS_ACCESS_KEY_ID = "AKIDFROMENV";
    env.AWS_SECRET_ACCESS_KEY = "secret";
    env.AWS_SESSION_TOKEN = "token-from-env";
    await c.call("ListTables", {});
    expect(endpoint.requests[0]?.headers.authorization).toContain("Credential=AKIDFROMENV/");
    expect(endpoint.requests[0]?.headers["x-amz-security-token"]).toBe("token-from-env");
  });

  it("has the regional endpoints and signing names of DynamoDB and Step Functions by default", () => {
    expect(new AwsJsonClient({ service: DYNAMODB, region: "eu-west-1" }).endpoint).toBe(
      "https://dynamodb.eu-west-1.amazonaws.com",
    );
    expect(new AwsJsonClient({ service: STEP_FUNCTIONS, region: "us-east-2" }).endpoint).toBe(
      "https://states.us-east-2.amazonaws.com",
    );
    expect(new AwsJsonClient({ service: STEP_FUNCTIONS, region: "cn-north-1" }).endpoint).toBe(
      "https://states.cn-north-1.amazonaws.com.cn",
    );
  });

  it("sends blobs as base64 and returns the parsed JSON body", async () => {
    endpoint.enqueue({ status: 200, body: { Count: 1 } });
    const out = await client().call<{ Count: number }>("PutItem", {
      Item: { data: { B: Buffer.from("hello") }, view: { B: new Uint8Array([1, 2, 3]) } },
    });
    expect(out).toEqual({ Count: 1 });
    expect(endpoint.requests[0]?.body).toEqual({
      Item: { data: { B: "aGVsbG8=" }, view: { B: "AQID" } },
    });
  });
});

describe("AWS JSON 1.0 client: errors and retries", () => {
  it("maps an error response: code from __type after the last #, message, status and body", async () => {
    endpoint.enqueue({
      status: 400,
      body: {
        __type: "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
        Message: "Transaction cancelled",
        CancellationReasons: [{ Code: "None" }, { Code: "ConditionalCheckFailed" }],
      },
      headers: { "x-amzn-requestid": "REQ1" },
    });
    const err = await client()
      .call("TransactWriteItems", {})
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AwsServiceError);
    expect(err).toMatchObject({
      name: "TransactionCanceledException",
      code: "TransactionCanceledException",
      message: "Transaction cancelled",
      statusCode: 400,
      requestId: "REQ1",
      body: { CancellationReasons: [{ Code: "None" }, { Code: "ConditionalCheckFailed" }] },
    });
  });

  it("takes the code from x-amzn-errortype (before any ':') when the body has none", async () => {
    endpoint.enqueue({
      status: 403,
      body: { message: "no" },
      headers: { "x-amzn-errortype": "AccessDeniedException:http://internal.amazon.com/coral/" },
    });
    await expect(client().call("GetItem", {})).rejects.toMatchObject({
      name: "AccessDeniedException",
      message: "no",
      statusCode: 403,
    });
  });

  it("retries throttling (400) and then succeeds", async () => {
    endpoint.enqueue(awsError(400, "ProvisionedThroughputExceededException", "slow down"), {
      status: 200,
      body: { ok: 1 },
    });
    await expect(client().call("PutItem", {})).resolves.toEqual({ ok: 1 });
    expect(endpoint.requests).toHaveLength(2);
    expect(delays).toHaveLength(1);
  });

  it("retries HTTP 503 and 429 and then succeeds", async () => {
    endpoint.enqueue(
      { status: 503, body: { __type: "ServiceUnavailable" } },
      { status: 429, body: {} },
      { status: 200, body: { ok: 2 } },
    );
    await expect(client().call("PutItem", {})).resolves.toEqual({ ok: 2 });
    expect(endpoint.requests).toHaveLength(3);
    expect(delays).toHaveLength(2);
  });

  it("retries a network error (connection closed without an answer)", async () => {
    endpoint.enqueue("drop", { status: 200, body: { ok: 3 } });
    await expect(client().call("PutItem", {})).resolves.toEqual({ ok: 3 });
    expect(endpoint.requests).toHaveLength(2);
    expect(delays).toHaveLength(1);
  });

  it("throws a non-retryable error at once, with its message", async () => {
    endpoint.enqueue(awsError(400, "ValidationException", "One or more parameter values were invalid"));
    await expect(client().call("PutItem", {})).rejects.toMatchObject({
      name: "ValidationException",
      message: "One or more parameter values were invalid",
    });
    expect(endpoint.requests).toHaveLength(1);
    expect(delays).toHaveLength(0);
  });

  it("gives up after maxAttempts with the last error", async () => {
    endpoint.enqueue(
      awsError(400, "ThrottlingException", "1"),
      awsError(400, "ThrottlingException", "2"),
      awsError(400, "ThrottlingException", "3"),
      awsError(400, "ThrottlingException", "4"),
    );
    await expect(client().call("Query", {})).rejects.toMatchObject({
      name: "ThrottlingException",
      message: "3",
    });
    expect(endpoint.requests).toHaveLength(3); // the default: 3 attempts
    expect(delays).toHaveLength(2);

    endpoint.reset();
    delays = [];
    endpoint.enqueue("drop", "drop");
    await expect(client({ maxAttempts: 2 }).call("Query", {})).rejects.toThrow(TypeError); // fetch failed
    expect(endpoint.requests).toHaveLength(2);
  });

  it("backs off exponentially with full jitter, capped at 20 s", async () => {
    const attempts = 12;
    endpoint.enqueue(
      ...Array.from({ length: attempts }, () => ({ status: 500, body: { __type: "InternalServerError" } })),
    );
    await expect(client({ maxAttempts: attempts }).call("Query", {})).rejects.toMatchObject({
      name: "InternalServerError",
      statusCode: 500,
    });
    expect(delays).toHaveLength(attempts - 1);
    delays.forEach((d, retry) => {
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThanOrEqual(Math.min(MAX_DELAY_MS, 100 * 2 ** retry));
    });
  });
});
