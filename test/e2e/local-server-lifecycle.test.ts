import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it, vi } from "vitest";
import { freePort } from "../../local/embedded-dynamodb.js";
import {
  dynamoDbLocalsFor,
  killDynamoDbLocalsUnder,
  processes,
  runUntilExit,
  type ServerProcess,
  serverEnv,
  startServer,
  stopServer,
} from "../support/server-process.js";
import { testConfig } from "../support/test-config.js";

/**
 * `npm start` with its embedded DynamoDB Local (a real java), as separate processes: what is
 * left running after a crash, two servers on one data dir, a busy port, the data dir's modes.
 */

const KEY = "e2e-key-0123456789abcdef";
const root = mkdtempSync(join(tmpdir(), "bga-lifecycle-"));
const configPath = join(root, "agents.yaml");
// The model is never called here.
writeFileSync(configPath, testConfig("http://127.0.0.1:9"));
const started: ServerProcess[] = [];

async function envFor(dataDir: string, options: { port?: number; apiKey?: boolean } = {}) {
  return serverEnv({
    PORT: String(options.port ?? (await freePort())),
    BGA_CONFIG: configPath,
    ...(options.apiKey === false ? {} : { BGA_API_KEY: KEY }),
    BGA_DATA_DIR: dataDir,
  });
}

async function start(env: NodeJS.ProcessEnv): Promise<ServerProcess> {
  const server = await startServer(env);
  started.push(server);
  return server;
}

function javaPidOf(dataDir: string): number {
  return Number.parseInt(readFileSync(join(dataDir, "dynamodb", "java.pid"), "utf8"), 10);
}

async function listTasks(env: { PORT: string }): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${env.PORT}/v1/tasks`, {
    headers: { authorization: `Bearer ${KEY}` },
  });
  await res.body?.cancel();
  return res.status;
}

afterAll(async () => {
  for (const server of started) await stopServer(server, "SIGTERM");
  // Whatever a failed test left: only the javas on this file's own data dirs.
  killDynamoDbLocalsUnder(root);
  rmSync(root, { recursive: true, force: true });
});

describe("npm start's processes and data dir", () => {
  it("DynamoDB Local's java ends when the server is killed with SIGKILL", async () => {
    const dir = join(root, "killed");
    const server = await start(await envFor(dir));
    const java = javaPidOf(dir);
    expect(dynamoDbLocalsFor(join(dir, "dynamodb"))).toEqual([java]);

    await stopServer(server, "SIGKILL"); // no exit handler of the server runs
    await vi.waitFor(() => expect(dynamoDbLocalsFor(join(dir, "dynamodb"))).toEqual([]), {
      timeout: 15_000,
      interval: 100,
    });
  });

  it("a restart ends a java that outlived its server (watchdog killed too) and runs just one", async () => {
    const dir = join(root, "orphan");
    const db = join(dir, "dynamodb");
    const first = await start(await envFor(dir));
    const java = javaPidOf(dir);
    const watchdog = processes().find(({ args }) => args[1] === "-e" && args.at(-1) === String(java));
    expect(watchdog).toBeDefined();

    process.kill(watchdog?.pid as number, "SIGKILL");
    await stopServer(first, "SIGKILL");
    await vi.waitFor(() => expect(processes().some((p) => p.pid === watchdog?.pid)).toBe(false));
    // Nothing ended it: the java runs on, on the data file (as every java did before the watchdog).
    expect(dynamoDbLocalsFor(db)).toEqual([java]);

    const env = await envFor(dir);
    const second = await start(env); // its lock is stale (pid of a dead server): taken over
    const next = javaPidOf(dir);
    expect(next).not.toBe(java);
    expect(dynamoDbLocalsFor(db)).toEqual([next]);
    expect(await listTasks(env)).toBe(200);

    await stopServer(second, "SIGTERM");
    expect(dynamoDbLocalsFor(db)).toEqual([]);
    expect(existsSync(join(dir, "server.lock"))).toBe(false);
    expect(existsSync(join(db, "java.pid"))).toBe(false);
  });

  it("a second server on the same data dir exits with a clear message; the first keeps serving", async () => {
    const dir = join(root, "shared");
    const env = await envFor(dir);
    const first = await start(env);

    const second = await runUntilExit(await envFor(dir));
    expect(second.code).toBe(1);
    expect(second.stderr).toContain(
      `bga: another bga server (pid ${first.pid}) is using the data dir ${dir}\n`,
    );
    expect(second.stdout).not.toContain("listening on");

    expect(await listTasks(env)).toBe(200);
    expect(dynamoDbLocalsFor(join(dir, "dynamodb"))).toEqual([javaPidOf(dir)]);
    expect(readFileSync(join(dir, "server.lock"), "utf8").trim()).toBe(String(first.pid));
  });

  it("a busy port is one line on stderr and a non-zero exit, and leaves no java behind", async () => {
    const port = await freePort();
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(port, "127.0.0.1", resolve));
    try {
      const dir = join(root, "busy-port");
      const run = await runUntilExit(await envFor(dir, { port }));
      expect(run.code).toBe(1);
      expect(run.stderr).toBe(`bga: port ${port} is in use (set PORT to another port)\n`);
      expect(dynamoDbLocalsFor(join(dir, "dynamodb"))).toEqual([]);
      expect(existsSync(join(dir, "server.lock"))).toBe(false);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  it("keeps the data dir to its owner: folders 0700, files 0600 (DynamoDB's file, keys, pid and lock)", async () => {
    const dir = join(root, "modes");
    // A data dir made by an older version, or by hand, open to everyone.
    mkdirSync(dir, { mode: 0o755 });
    chmodSync(dir, 0o755);
    writeFileSync(join(dir, "notes.txt"), "mine\n", { mode: 0o644 });
    chmodSync(join(dir, "notes.txt"), 0o644);
    await start(await envFor(dir, { apiKey: false }));

    const modes: Record<string, string> = {};
    const walk = (path: string, name: string) => {
      const stat = statSync(path);
      modes[name] = (stat.mode & 0o777).toString(8);
      if (stat.isDirectory())
        for (const entry of readdirSync(path)) walk(join(path, entry), `${name}/${entry}`);
    };
    walk(dir, ".");
    expect(modes).toEqual({
      ".": "700",
      "./api-key": "600",
      "./service-secret": "600",
      "./server.lock": "600",
      "./notes.txt": "600",
      "./dynamodb": "700",
      "./dynamodb/java.pid": "600",
      "./dynamodb/shared-local-instance.db": "600",
    });
  });
});
