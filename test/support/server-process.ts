import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

/** `npm start`'s entry (local/server.ts) as its own process, as a user runs it. */
export interface ServerProcess {
  child: ChildProcess;
  pid: number;
  /** Everything it wrote so far, stdout and stderr. */
  output(): string;
}

function spawnServer(env: NodeJS.ProcessEnv): { child: ChildProcess; out: () => string; err: () => string } {
  const child = spawn(process.execPath, ["--import", "tsx", "local/server.ts"], {
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout?.on("data", (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on("data", (d: Buffer) => {
    err += d.toString();
  });
  return { child, out: () => out, err: () => err };
}

/** Starts the server and resolves once it says it listens. */
export async function startServer(env: NodeJS.ProcessEnv): Promise<ServerProcess> {
  const { child, out, err } = spawnServer(env);
  const deadline = Date.now() + 45_000;
  while (!out().includes("listening on")) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`server did not start: ${out()}${err()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { child, pid: child.pid as number, output: () => out() + err() };
}

/**
 * Runs a server that is expected not to start: its exit code and what it wrote. If it starts
 * after all, it is stopped at once (its stdout then says it listened).
 */
export function runUntilExit(
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const { child, out, err } = spawnServer(env);
  child.stdout?.on("data", () => {
    if (out().includes("listening on")) child.kill("SIGTERM");
  });
  return new Promise((resolve) => {
    child.once("close", (code) => resolve({ code, stdout: out(), stderr: err() }));
  });
}

/** Ends the server with `signal` and resolves when it has exited. */
export function stopServer(server: ServerProcess | undefined, signal: NodeJS.Signals): Promise<void> {
  const child = server?.child;
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once("exit", () => resolve());
    child.kill(signal);
  });
}

/** The live processes of this machine with their arguments (Linux /proc; zombies have none). */
export function processes(): { pid: number; args: string[] }[] {
  const found: { pid: number; args: string[] }[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const args = readFileSync(`/proc/${name}/cmdline`, "utf8").split("\0").filter(Boolean);
      if (args.length) found.push({ pid: Number(name), args });
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** The pids of the DynamoDB Local javas serving the data folder `dbPath`. */
export function dynamoDbLocalsFor(dbPath: string): number[] {
  return processes()
    .filter(({ args }) => args.some((a) => a.includes("DynamoDBLocal")) && args.includes(dbPath))
    .map((p) => p.pid);
}

/**
 * The environment of an `npm start` under test: of this process's own, only PATH and HOME; AWS
 * keys that DynamoDB Local accepts (a DynamoDB the user gives is signed with the SDK's default
 * credential chain, this environment first); warnings only in the log. Then `settings`.
 */
export function serverEnv<T extends Record<string, string | undefined>>(settings: T) {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    AWS_ACCESS_KEY_ID: "local",
    AWS_SECRET_ACCESS_KEY: "local",
    BGA_LOG_LEVEL: "warn",
    ...settings,
  };
}

/** Kills whatever DynamoDB Local javas a failed test left on a data folder under `root`. */
export function killDynamoDbLocalsUnder(root: string): void {
  for (const { pid, args } of processes()) {
    if (args.some((a) => a.includes("DynamoDBLocal")) && args.some((a) => a.startsWith(root))) {
      process.kill(pid, "SIGKILL");
    }
  }
}
