import * as z from "zod";
import { HttpHarnessChannel } from "../../shared/harness/http-channel.js";
import { runHarness } from "../../shared/harness/run-harness.js";
import { createLogger, type LogLevel } from "../../shared/logger.js";
import { HARNESS_ENV } from "../../shared/state-machine/definition.js";

/**
 * The harness container's entrypoint (the Dockerfile's ENTRYPOINT; SPEC §9 in the cloud): one
 * process per harness task, started by the RunHarness state (`ecs:runTask.sync`) with only its
 * task reference, the API's URL and the task's capability in its environment. It runs the one
 * harness runner (shared/harness/run-harness.ts) on the HTTP channel to the API's internal
 * routes: the job (with the agent's resolved secrets) comes from the claim, output goes back
 * through flushes, the changes at the end. It holds no AWS credential that reaches the table or
 * a secret. A SIGTERM (ECS StopTask, i.e. StopExecution) ends the CLI's process group at once.
 *
 * Exit codes: 0 when the run ended (the task's outcome is on the task, whatever it is) or the
 * task was not there to run; 1 when the internal API could not be reached or refused the
 * capability (the state machine then records the failure); 2 for a bad environment.
 */

const ContainerEnvSchema = z.object({
  [HARNESS_ENV.apiUrl]: z.url({ protocol: /^https?$/ }),
  [HARNESS_ENV.tenantId]: z.string().min(1),
  [HARNESS_ENV.taskId]: z.string().min(1),
  [HARNESS_ENV.capability]: z.string().min(1),
  BGA_LOG_LEVEL: z.enum(["debug", "info", "warn", "error", "silent"]).default("info"),
  /** Milliseconds between flushes (and status polls). @default 1000 */
  BGA_HARNESS_FLUSH_MS: z.coerce.number().int().positive().optional(),
});

export async function main(env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const parsed = ContainerEnvSchema.safeParse(env);
  if (!parsed.success) {
    // Names only: a value (the capability) is never written out.
    const names = [...new Set(parsed.error.issues.map((i) => i.path.join(".")))];
    process.stderr.write(`harness container: missing or invalid environment: ${names.join(", ")}\n`);
    return 2;
  }
  const config = parsed.data;
  const log = createLogger(config.BGA_LOG_LEVEL as LogLevel, "bga-harness");
  const taskId = config[HARNESS_ENV.taskId];
  const channel = new HttpHarnessChannel({
    apiUrl: config[HARNESS_ENV.apiUrl],
    taskId,
    capability: config[HARNESS_ENV.capability],
  });
  const stop = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    log.info("harness container asked to stop", { task_id: taskId, signal });
    stop.abort();
  };
  process.once("SIGTERM", onSignal);
  process.once("SIGINT", onSignal);
  try {
    const outcome = await runHarness(channel, {
      log,
      signal: stop.signal,
      ...(config.BGA_HARNESS_FLUSH_MS ? { flushIntervalMs: config.BGA_HARNESS_FLUSH_MS } : {}),
    });
    log.info("harness run ended", {
      task_id: taskId,
      ran: outcome.ran,
      status: outcome.status,
      files_changed: outcome.changes?.files.length,
    });
    return 0;
  } catch (err) {
    log.error("harness run failed", {
      task_id: taskId,
      error: (err as Error).name,
      message: (err as Error).message,
    });
    return 1;
  } finally {
    process.off("SIGTERM", onSignal);
    process.off("SIGINT", onSignal);
  }
}

// Run when executed as the container's entrypoint (not when imported by a test or a bench).
if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`harness container: ${String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
