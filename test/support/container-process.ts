import { type ChildProcess, spawn } from "node:child_process";
import { dirname } from "node:path";
import { HARNESS_ENV } from "../../shared/state-machine/definition.js";

/**
 * The RunHarness state of the real state machine definition run as ECS would run it, with a
 * process for the container: the handler gets the RunTask request (aws-local-stepfunctions passes
 * the resolved Parameters), starts the image's entrypoint (functions/harness/main.ts) with the
 * container overrides as its whole environment (plus PATH and HOME, which the image has), waits
 * for it to exit and fails like `runTask.sync` when it exits non-zero. Stop is ECS StopTask: a
 * SIGTERM. Only ECS is replaced; everything the container does goes through the internal routes.
 */

type RunTaskRequest = {
  Overrides: { ContainerOverrides: { Name: string; Environment: { Name: string; Value: string }[] }[] };
};

export interface ContainerRun {
  request: RunTaskRequest;
  child: ChildProcess;
  /** stdout + stderr so far. */
  output(): string;
  exit: Promise<number | null>;
  startedAt: number;
  endedAt?: number;
}

export class ContainerProcesses {
  readonly runs = new Map<string, ContainerRun>();
  readonly requests: RunTaskRequest[] = [];

  constructor(
    private readonly options: {
      /** The API's base URL (stands for the Function URL the definition carries in the cloud). */
      apiUrl: () => string;
      home: string;
      /** Extra variables, e.g. BGA_HARNESS_FLUSH_MS. */
      env?: Record<string, string>;
    },
  ) {}

  readonly handler = async (event: unknown): Promise<Record<string, never>> => {
    const request = event as RunTaskRequest;
    this.requests.push(request);
    const overrides = request.Overrides.ContainerOverrides[0]?.Environment ?? [];
    const env: Record<string, string> = Object.fromEntries(overrides.map((e) => [e.Name, e.Value]));
    env[HARNESS_ENV.apiUrl] = this.options.apiUrl();
    const child = spawn(process.execPath, ["--import", "tsx", "functions/harness/main.ts"], {
      env: {
        ...env,
        PATH: [dirname(process.execPath), "/usr/local/bin", "/usr/bin", "/bin"].join(":"),
        HOME: this.options.home,
        ...this.options.env,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    const append = (d: Buffer) => {
      output += d.toString();
    };
    child.stdout?.on("data", append);
    child.stderr?.on("data", append);
    const run: ContainerRun = {
      request,
      child,
      output: () => output,
      exit: new Promise((resolve) =>
        child.once("close", (code) => {
          run.endedAt = performance.now();
          resolve(code);
        }),
      ),
      startedAt: performance.now(),
    };
    this.runs.set(env[HARNESS_ENV.taskId] ?? "", run);
    const code = await run.exit;
    if (code !== 0) {
      // As runTask.sync fails: States.TaskFailed, the ECS task (as DescribeTasks has it) as the cause.
      const signal = run.child.signalCode;
      const cause = {
        LastStatus: "STOPPED",
        StopCode: "EssentialContainerExited",
        StoppedReason: "Essential container in task exited",
        Containers: [{ Name: "harness", ExitCode: code ?? (signal === "SIGKILL" ? 137 : 143) }],
      };
      throw Object.assign(new Error(JSON.stringify(cause)), { name: "States.TaskFailed" });
    }
    return {};
  };

  /** ECS StopTask. */
  stop(taskId: string): void {
    this.runs.get(taskId)?.child.kill("SIGTERM");
  }

  killAll(): void {
    for (const run of this.runs.values()) run.child.kill("SIGKILL");
  }
}
