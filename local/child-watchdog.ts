import { spawn } from "node:child_process";
import { Socket } from "node:net";

/**
 * The watchdog's whole program. Its stdin is a pipe whose only writer is the process that
 * started it; it never writes. When that process ends, however it ends, the kernel closes its
 * end and stdin reaches end-of-file: then the watched process gets SIGTERM, and SIGKILL if it
 * is still there 5 s later.
 */
const WATCHDOG_SOURCE = `
const pid = Number(process.argv[1]);
let fired = false;
function fire() {
  if (fired) return;
  fired = true;
  try { process.kill(pid, "SIGTERM"); } catch { process.exit(0); }
  const deadline = Date.now() + 5000;
  setInterval(() => {
    try { process.kill(pid, 0); } catch { process.exit(0); }
    if (Date.now() > deadline) {
      try { process.kill(pid, "SIGKILL"); } catch {}
      process.exit(0);
    }
  }, 100);
}
process.stdin.on("end", fire);
process.stdin.on("close", fire);
process.stdin.on("error", fire);
process.stdin.resume();
`;

export interface ChildWatchdog {
  /** Ends the watchdog without touching the watched process (call it once that one has exited). */
  release(): void;
}

/**
 * Makes the process `pid` (a child we spawned, e.g. DynamoDB Local's java) end when this
 * process ends, even by SIGKILL, when no exit handler of ours runs.
 *
 * Why a watchdog process holding a pipe: the kernel closes a dead process's file descriptors
 * whatever killed it, so the pipe's end-of-file is a certain, immediate sign of our death, with
 * no polling of pids (which can be reused) and on every system Node runs on. Linux's
 * PR_SET_PDEATHSIG (`setpriv --pdeathsig`) would do without the extra process, but it is
 * Linux-only and fires on the death of the spawning thread, not of the process.
 *
 * The watchdog is in its own process group (detached), so a Ctrl-C in the terminal does not
 * reach it: that one is for us, and we stop the child in order ourselves.
 */
export function killWithThisProcess(pid: number): ChildWatchdog {
  const watchdog = spawn(process.execPath, ["-e", WATCHDOG_SOURCE, String(pid)], {
    stdio: ["pipe", "ignore", "ignore"],
    detached: true,
  });
  // The watchdog must not keep this process alive, nor must its pipe.
  watchdog.unref();
  if (watchdog.stdin instanceof Socket) watchdog.stdin.unref();
  watchdog.stdin?.on("error", () => {});
  return {
    release() {
      if (watchdog.exitCode === null && watchdog.signalCode === null) watchdog.kill("SIGKILL");
      watchdog.stdin?.destroy();
    },
  };
}
