import * as z from "zod";
import { ApiError, ConnectionError, UnexpectedResponseError } from "./errors.js";
import { ErrorBodySchema } from "./schemas.js";

export interface HttpOptions {
  /** Base URL, e.g. http://127.0.0.1:8787 (a trailing slash is ignored). */
  endpoint: string;
  /** Sent as `Authorization: Bearer <token>`. */
  token: string;
  /** Sent as `X-Caller-Agent` when set. */
  caller?: string | undefined;
  fetch?: typeof fetch;
}

export interface RequestOptions {
  body?: unknown;
  query?: Record<string, string | number | undefined>;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

/** JSON over fetch: auth headers, error bodies turned into ApiError, every 2xx body parsed with zod. */
export class HttpClient {
  readonly endpoint: string;
  private readonly fetchImpl: typeof fetch;

  constructor(private readonly options: HttpOptions) {
    this.endpoint = options.endpoint.replace(/\/+$/, "");
    this.fetchImpl = options.fetch ?? fetch;
  }

  url(path: string, query: RequestOptions["query"] = {}): string {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined) params.set(k, String(v));
    const qs = params.toString();
    return `${this.endpoint}${path}${qs ? `?${qs}` : ""}`;
  }

  /** Sends a request and returns the raw response once its status is 2xx. */
  async send(method: string, path: string, options: RequestOptions = {}): Promise<Response> {
    const headers: Record<string, string> = {
      authorization: `Bearer ${this.options.token}`,
      ...(this.options.caller ? { "x-caller-agent": this.options.caller } : {}),
      ...(options.body !== undefined ? { "content-type": "application/json" } : {}),
      ...options.headers,
    };
    let res: Response;
    try {
      res = await this.fetchImpl(this.url(path, options.query), {
        method,
        headers,
        ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
      });
    } catch (err) {
      if (options.signal?.aborted) throw err;
      throw new ConnectionError(`cannot reach ${this.endpoint}: ${describeFetchError(err)}`);
    }
    if (!res.ok) throw await apiErrorOf(res);
    return res;
  }

  /** Sends a request and parses the 2xx JSON body (an empty body is `undefined`) with `schema`. */
  async json<S extends z.ZodType>(
    method: string,
    path: string,
    schema: S,
    options: RequestOptions = {},
  ): Promise<{ data: z.output<S>; status: number }> {
    const res = await this.send(method, path, options);
    let text: string;
    try {
      text = await res.text();
    } catch (err) {
      throw new ConnectionError(`lost the connection to ${this.endpoint}: ${describeFetchError(err)}`);
    }
    let body: unknown;
    try {
      body = text === "" ? undefined : JSON.parse(text);
    } catch {
      throw new UnexpectedResponseError(
        `${method} ${path} answered ${res.status} with a body that is not JSON`,
      );
    }
    const parsed = schema.safeParse(body);
    if (!parsed.success) {
      // the first three problems say enough; a long list of the same one would hide the message
      const first = new z.ZodError(parsed.error.issues.slice(0, 3));
      throw new UnexpectedResponseError(
        `unexpected response from ${method} ${path}:\n${z.prettifyError(first)}`,
      );
    }
    return { data: parsed.data, status: res.status };
  }
}

async function apiErrorOf(res: Response): Promise<ApiError> {
  const text = await res.text().catch(() => "");
  let body: unknown = null;
  try {
    body = JSON.parse(text);
  } catch {
    body = null;
  }
  const parsed = ErrorBodySchema.safeParse(body);
  if (parsed.success) {
    const { code, message, details } = parsed.data.error;
    return new ApiError(res.status, code, message, details);
  }
  const snippet = text.trim().slice(0, 200);
  return new ApiError(
    res.status,
    `http_${res.status}`,
    `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ""}${snippet ? `: ${snippet}` : ""}`,
  );
}

/** fetch reports "fetch failed" and hides the reason (ECONNREFUSED, ENOTFOUND …) in `cause`. */
export function describeFetchError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause;
  if (cause instanceof Error) {
    const code = (cause as Error & { code?: unknown }).code;
    return typeof code === "string" ? `${code} (${cause.message})` : cause.message;
  }
  return err.message;
}
