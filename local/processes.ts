import { spawnSync } from "node:child_process";
import { readFileSync, readlinkSync } from "node:fs";

/**
 * Looks at other processes by pid (Linux: /proc; elsewhere: `ps`). A zombie — killed, not yet
 * reaped by its new parent — counts as gone: it holds no port and no file.
 */

function procStat(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
}

/** Whether the process runs (or exists under another user, which signal 0 reports as EPERM). */
export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  if (process.platform === "linux") {
    const stat = procStat(pid);
    if (stat === undefined) return false;
    // "pid (comm) S ...": the state letter follows the last ")" (comm may hold one).
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z" && state !== "X";
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The process's command line, arguments joined by spaces; undefined when it is gone or hidden. */
export function commandLineOf(pid: number): string | undefined {
  if (!processAlive(pid)) return undefined;
  if (process.platform === "linux") {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ").trim();
    } catch {
      return undefined;
    }
  }
  const res = spawnSync("ps", ["-p", String(pid), "-o", "command="], { encoding: "utf8" });
  return res.status === 0 ? res.stdout.trim() : undefined;
}

/** The path of the process's executable (Linux only; undefined elsewhere or when hidden). */
export function executableOf(pid: number): string | undefined {
  if (process.platform !== "linux") return undefined;
  try {
    return readlinkSync(`/proc/${pid}/exe`);
  } catch {
    return undefined;
  }
}
