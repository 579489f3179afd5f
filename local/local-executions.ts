import "./polyfills.js";
import { StateMachine, type StateMachineDefinition } from "aws-local-stepfunctions";
import type { Executions } from "../shared/ports.js";
import {
  HARNESS_STATE,
  RECORD_FAILURE_STATE,
  RUN_AGENT_STATE,
  RUNNER_STATES,
  type StateMachineDefinitionProps,
  stateMachineDefinition,
} from "../shared/state-machine/definition.js";

/** A step handler as the runner Lambda exposes it: JSON in, JSON out. */
export type StepHandler = (event: unknown) => Promise<unknown>;

export interface LocalExecutionsOptions {
  handler: StepHandler;
  /**
   * The harness branch (SPEC §9): RunHarness's handler (the in-process harness runner) and how a
   * stop ends a harness task's CLI at once. Without it a harness execution fails at RunHarness.
   */
  harness?: { handler: StepHandler; stop: (taskId: string) => void };
  definition?: Partial<StateMachineDefinitionProps>;
  /** Run this ASL document instead (e.g. the one `cdk synth` put in the template). */
  definitionDocument?: Record<string, unknown>;
  /** Seconds between retries of a failed step (overrides the definition's backoff, e.g. 0 in tests). */
  retryIntervalMs?: number;
  onEnd?: (taskId: string, outcome: { ok: boolean; error?: string }) => void;
}

const LOCAL_RUNNER_ARN = "arn:aws:lambda:us-east-1:000000000000:function:bga-runner";

/**
 * Runs the project's own state machine definition with aws-local-stepfunctions; every Task
 * state is mapped (by state name) to the same handler code the runner Lambda runs.
 */
export class LocalExecutions implements Executions {
  private readonly machine: StateMachine;
  private readonly running = new Map<string, { abort: () => void; result: Promise<unknown> }>();

  constructor(private readonly options: LocalExecutionsOptions) {
    const definition = (options.definitionDocument ??
      stateMachineDefinition({
        runnerFunctionArn: LOCAL_RUNNER_ARN,
        ...options.definition,
      })) as unknown as StateMachineDefinition;
    this.machine = new StateMachine(definition, { validationOptions: { checkArn: true, checkPaths: true } });
  }

  async start(input: { tenantId: string; taskId: string; kind?: "model" | "harness" }): Promise<void> {
    if (this.running.has(input.taskId)) return; // like StartExecution with the same name: harmless
    const handler = (event: unknown) => this.options.handler(event) as Promise<never>;
    const harness = this.options.harness;
    const harnessHandler = harness
      ? (event: unknown) => harness.handler(event) as Promise<never>
      : async (): Promise<never> => {
          throw new Error("this runtime runs no harness tasks");
        };
    const retry = this.options.retryIntervalMs;
    const execution = this.machine.run(
      { tenant_id: input.tenantId, task_id: input.taskId, kind: input.kind ?? "model" },
      {
        noThrowOnAbort: true,
        overrides: {
          taskResourceLocalHandlers: {
            ...Object.fromEntries(RUNNER_STATES.map((state) => [state, handler])),
            [HARNESS_STATE]: harnessHandler,
          },
          ...(retry !== undefined
            ? { retryIntervalOverrides: { [RUN_AGENT_STATE]: retry, [RECORD_FAILURE_STATE]: retry } }
            : {}),
        },
      },
    );
    const result = execution.result.then(
      () => this.options.onEnd?.(input.taskId, { ok: true }),
      (err: unknown) => this.options.onEnd?.(input.taskId, { ok: false, error: String(err) }),
    );
    const entry = { abort: execution.abort, result };
    this.running.set(input.taskId, entry);
    void result.finally(() => {
      if (this.running.get(input.taskId) === entry) this.running.delete(input.taskId);
    });
  }

  async stop(input: { tenantId: string; taskId: string; cause: string }): Promise<void> {
    // Like StopExecution. It does not cancel a model step in flight (the step notices the stop
    // itself); a harness task's CLI is ended at once, as StopExecution stops the ECS task.
    this.running.get(input.taskId)?.abort();
    this.options.harness?.stop(input.taskId);
  }

  /** In process: an execution this process runs now is running; any other is not there (a restart lost it). */
  async describe(input: { tenantId: string; taskId: string }): Promise<"running" | "missing"> {
    return this.running.has(input.taskId) ? "running" : "missing";
  }

  /** Executions not yet ended. */
  get active(): number {
    return this.running.size;
  }

  /** Waits for every execution to end (used at shutdown and in tests). */
  async drain(): Promise<void> {
    await Promise.all([...this.running.values()].map((e) => e.result));
  }

  abortAll(): void {
    for (const e of this.running.values()) e.abort();
  }
}
