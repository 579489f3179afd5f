import { once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import {
  LambdaExtensionSecrets,
  SecretReadError,
} from "../../shared/adapters/secrets/lambda-extension-secrets.js";
import { ConfigError } from "../../shared/config.js";

// A tiny HTTP server on loopback stands in for the Parameters and Secrets extension, which
// exists only inside Lambda; the port reaches the reader the way Lambda gives it: through the env.

const ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:bga-service-AbCdEf";
const TOKEN = "session-token-of-this-function";

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

const servers: Server[] = [];

afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    if (server.listening) await new Promise((resolve) => server.close(resolve));
  }
});

async function listen(handler: Handler, port = 0): Promise<{ port: number; requests: IncomingMessage[] }> {
  const requests: IncomingMessage[] = [];
  const server = createServer((req, res) => {
    requests.push(req);
    handler(req, res);
  });
  servers.push(server);
  server.listen(port, "127.0.0.1");
  await once(server, "listening");
  return { port: (server.address() as AddressInfo).port, requests };
}

/** A loopback port with nothing listening on it (connections are refused). */
async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function extensionEnv(port: number): NodeJS.ProcessEnv {
  return { AWS_SESSION_TOKEN: TOKEN, PARAMETERS_SECRETS_EXTENSION_HTTP_PORT: String(port) };
}

function answer(status: number, body: unknown): Handler {
  return (_req, res) => {
    res.writeHead(status, { "content-type": "application/json" });
    res.end(typeof body === "string" ? body : JSON.stringify(body));
  };
}

const noPause = async () => {};

describe("secrets through the Parameters and Secrets extension", () => {
  it("reads a secret's text by its ARN, authenticated by the session token", async () => {
    const server = await listen(answer(200, { ARN, Name: "bga-service", SecretString: "s3cret-value" }));
    const secrets = LambdaExtensionSecrets.fromEnv(extensionEnv(server.port));
    await expect(secrets.getSecretString(ARN)).resolves.toBe("s3cret-value");
    expect(server.requests).toHaveLength(1);
    const req = server.requests[0];
    const url = new URL(req?.url ?? "", "http://localhost");
    expect(url.pathname).toBe("/secretsmanager/get");
    expect(url.searchParams.get("secretId")).toBe(ARN);
    expect(req?.method).toBe("GET");
    expect(req?.headers["x-aws-parameters-secrets-token"]).toBe(TOKEN);
  });

  it("tries again after a 5xx (the extension still starting), pausing a little longer each time", async () => {
    let calls = 0;
    const server = await listen((req, res) => {
      calls += 1;
      if (calls === 1) answer(503, "not ready")(req, res);
      else answer(200, { SecretString: "after-retry" })(req, res);
    });
    const pauses: number[] = [];
    const secrets = LambdaExtensionSecrets.fromEnv(extensionEnv(server.port), {
      sleep: async (ms) => {
        pauses.push(ms);
      },
    });
    await expect(secrets.getSecretString(ARN)).resolves.toBe("after-retry");
    expect(server.requests).toHaveLength(2);
    expect(pauses).toEqual([100]);
  });

  it("tries again when the connection is refused (the extension not listening yet)", async () => {
    const port = await freePort();
    let server: Awaited<ReturnType<typeof listen>> | undefined;
    const secrets = LambdaExtensionSecrets.fromEnv(extensionEnv(port), {
      // The extension comes up during the pause after the first, refused, attempt.
      sleep: async () => {
        server ??= await listen(answer(200, { SecretString: "once-up" }), port);
      },
    });
    await expect(secrets.getSecretString(ARN)).resolves.toBe("once-up");
    expect(server?.requests).toHaveLength(1);
  });

  it("gives up after the last attempt with a named error that says which secret and why", async () => {
    const server = await listen(answer(500, "upstream unavailable"));
    const secrets = LambdaExtensionSecrets.fromEnv(extensionEnv(server.port), {
      attempts: 3,
      sleep: noPause,
    });
    const err = await secrets.getSecretString(ARN).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SecretReadError);
    expect(err).toMatchObject({
      name: "SecretReadError",
      code: "secret_unavailable",
      secretId: ARN,
      attempts: 3,
    });
    expect((err as Error).message).toBe(
      `could not read secret ${ARN} through the Parameters and Secrets extension (3 attempts): HTTP 500: upstream unavailable`,
    );
    expect(server.requests).toHaveLength(3);
  });

  it("says the connection was refused when the extension never answers", async () => {
    const port = await freePort();
    const secrets = LambdaExtensionSecrets.fromEnv(extensionEnv(port), { attempts: 2, sleep: noPause });
    await expect(secrets.getSecretString(ARN)).rejects.toThrow(
      /could not read secret .* \(2 attempts\): ECONNREFUSED/,
    );
  });

  it("gives up on an extension that does not answer in time", async () => {
    const server = await listen(() => {}); // never answers
    const secrets = LambdaExtensionSecrets.fromEnv(extensionEnv(server.port), {
      attempts: 2,
      timeoutMs: 50,
      sleep: noPause,
    });
    await expect(secrets.getSecretString(ARN)).rejects.toThrow(/\(2 attempts\): no answer within 50 ms/);
    expect(server.requests).toHaveLength(2);
  });

  it("does not retry, nor quote, an answer without a text secret", async () => {
    const server = await listen(
      answer(200, { SecretBinary: "c2VjcmV0LWJ5dGVz", SecretString: { hidden: "hidden-value" } }),
    );
    const secrets = LambdaExtensionSecrets.fromEnv(extensionEnv(server.port), { sleep: noPause });
    const err = await secrets.getSecretString(ARN).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SecretReadError);
    expect((err as Error).message).toMatch(/\(1 attempt\): the answer holds no SecretString/);
    expect((err as Error).message).not.toMatch(/c2VjcmV0|hidden-value/);
    expect(server.requests).toHaveLength(1);
  });

  it("refuses an environment without the session token", () => {
    expect(() => LambdaExtensionSecrets.fromEnv({ PARAMETERS_SECRETS_EXTENSION_HTTP_PORT: "2773" })).toThrow(
      ConfigError,
    );
    expect(() => LambdaExtensionSecrets.fromEnv({ AWS_SESSION_TOKEN: TOKEN })).not.toThrow();
  });
});
