import {
  chmodSync,
  linkSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { basename, join, resolve } from "node:path";
import { executableOf, processAlive } from "./processes.js";

export class DataDirInUseError extends Error {
  readonly code = "DATA_DIR_IN_USE";
  constructor(
    readonly pid: number,
    readonly dir: string,
  ) {
    super(`another bga server (pid ${pid}) is using the data dir ${dir}`);
    this.name = "DataDirInUseError";
  }
}

/** Owner-only, everything in it: the data dir 0700 and its folders 0700, its files 0600. */
function restrictToOwner(path: string): void {
  const stat = lstatSync(path);
  if (stat.isSymbolicLink()) return;
  if (stat.isDirectory()) {
    chmodSync(path, 0o700);
    for (const name of readdirSync(path)) restrictToOwner(join(path, name));
  } else if (stat.isFile()) {
    chmodSync(path, 0o600);
  }
}

/**
 * Creates the data dir, or closes an existing one to other users: it holds the API key, the
 * service secret and the DynamoDB Local file, which has every task's text.
 */
export function prepareDataDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  restrictToOwner(dir);
}

export interface DataDirLock {
  release(): void;
}

function readLock(file: string): string | undefined {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
}

/**
 * Whether the server that wrote the lock still runs. A pid is reused after a crash (a container
 * restarting gives the same low pids), so the pid is ours, or a process that is not node
 * (Linux tells), means the lock is stale.
 */
function holderRuns(pid: number): boolean {
  if (!Number.isInteger(pid) || pid === process.pid || !processAlive(pid)) return false;
  const exe = executableOf(pid);
  return exe === undefined || basename(exe) === basename(process.execPath);
}

/**
 * One server per data dir: two would run the same tasks twice. The lock is the file
 * `server.lock` holding the server's pid, made whole then linked into place (a link fails if the
 * name exists, so there is no moment where another start reads it empty). A lock whose server is
 * gone (killed, crashed) is taken over.
 */
export function lockDataDir(dir: string): DataDirLock {
  const file = join(dir, "server.lock");
  const own = `${process.pid}\n`;
  const draft = join(dir, `server.lock.${process.pid}`);
  writeFileSync(draft, own, { mode: 0o600 });
  try {
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        linkSync(draft, file);
        return {
          release() {
            if (readLock(file) === own) rmSync(file, { force: true });
          },
        };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      }
      const held = readLock(file);
      if (held === undefined) continue; // released meanwhile
      const pid = Number.parseInt(held, 10);
      if (holderRuns(pid)) throw new DataDirInUseError(pid, resolve(dir));
      // Stale: remove it, unless another start has just taken it over.
      if (readLock(file) === held) rmSync(file, { force: true });
    }
    throw new Error(`could not lock the data dir ${resolve(dir)}: its lock keeps changing`);
  } finally {
    rmSync(draft, { force: true });
  }
}
