import { Duration } from "aws-cdk-lib";
import type { Function as LambdaFunction } from "aws-cdk-lib/aws-lambda";
import { type FunctionUrl, FunctionUrlAuthType, InvokeMode } from "aws-cdk-lib/aws-lambda";
import { RetentionDays } from "aws-cdk-lib/aws-logs";
import type { ISecret } from "aws-cdk-lib/aws-secretsmanager";
import { Construct } from "constructs";
import { type Limits, LimitsPatchSchema } from "../../shared/tenants.js";
import { createNodeFunction, secretsExtension } from "./node-function.js";
import { ConstructPropsError } from "./props-error.js";
import type { TaskStateMachine } from "./task-state-machine.js";
import type { TaskTable } from "./task-table.js";

export interface ApiFunctionProps {
  readonly table: TaskTable;
  readonly stateMachine: Pick<
    TaskStateMachine,
    "stateMachineArn" | "grantStartExecution" | "grantStopExecution"
  >;
  /**
   * The service secret: keys the API-key hashes and the encryption of tenant secrets. Read
   * through the Parameters and Secrets extension at the first request, never in the environment.
   */
  readonly serviceSecret: ISecret;
  /** The bearer token of the admin API (SPEC §7), read the same way. */
  readonly adminToken: ISecret;
  /** Longest request: `wait` may block 840 s and SSE streams follow a task. @default 15 minutes */
  readonly timeout?: Duration;
  /**
   * Lambda bills GB-seconds, and the API mostly waits: on `wait`, on SSE streams, on DynamoDB: 512 MB is
   * ample memory (a cold start has less CPU than at 1024 MB). @default 512
   */
  readonly memorySize?: number;
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
  /**
   * Limits of tenants created through the admin API, where the create request names none
   * (SPEC §7); set as `BGA_DEFAULT_LIMITS` (JSON: limits are not secrets).
   * @default {} (the defaults of shared/tenants.ts)
   */
  readonly defaultLimits?: Partial<Limits>;
  /** Browser origins the API accepts besides its own (`BGA_ALLOWED_ORIGINS`). @default none */
  readonly allowedOrigins?: readonly string[];
}

/** The longest `wait_background_agents` timeout (SPEC §3) plus time to answer. */
const MIN_TIMEOUT_SECONDS = 840 + 30;

/**
 * The API Lambda (functions/api/handler.ts): the Hono app behind a Function URL with response
 * streaming (SSE). The URL needs no IAM auth: the app checks bearer keys itself. It may start
 * executions of the task state machine and stop them, and nothing else in Step Functions; it
 * may read the service secret and the admin token, and no other secret.
 */
export class ApiFunction extends Construct {
  readonly function: LambdaFunction;
  readonly url: FunctionUrl;

  constructor(scope: Construct, id: string, props: ApiFunctionProps) {
    super(scope, id);
    const timeout = props.timeout ?? Duration.minutes(15);
    if (timeout.toSeconds() < MIN_TIMEOUT_SECONDS || timeout.toSeconds() > 900) {
      throw new ConstructPropsError(
        this.node.path,
        `timeout must be between ${MIN_TIMEOUT_SECONDS} s (the longest wait) and 900 s (the Lambda limit)`,
      );
    }
    const defaultLimits = Object.fromEntries(
      Object.entries(props.defaultLimits ?? {}).filter(([, value]) => value !== undefined),
    );
    const limitsCheck = LimitsPatchSchema.safeParse(defaultLimits);
    if (!limitsCheck.success) {
      const problems = limitsCheck.error.issues.map((i) => `${i.path.join(".") || "(object)"}: ${i.message}`);
      throw new ConstructPropsError(this.node.path, `invalid defaultLimits: ${problems.join("; ")}`);
    }

    this.function = createNodeFunction(this, "Function", {
      entry: "functions/api/handler.ts",
      description: "Background Agents: MCP, REST and tool gateway (Hono)",
      timeout,
      memorySize: props.memorySize ?? 512,
      logRetention: props.logRetention ?? RetentionDays.ONE_MONTH,
      paramsAndSecrets: secretsExtension(),
      environment: {
        BGA_TABLE_NAME: props.table.tableName,
        BGA_STATE_MACHINE_ARN: props.stateMachine.stateMachineArn,
        BGA_ALLOW_PRIVATE_NETWORK: "false",
        BGA_SERVICE_SECRET_ARN: props.serviceSecret.secretArn,
        BGA_ADMIN_TOKEN_SECRET_ARN: props.adminToken.secretArn,
        // The limits as given, not the parse (which fills in every default): the code's defaults stay the base.
        ...(Object.keys(defaultLimits).length ? { BGA_DEFAULT_LIMITS: JSON.stringify(defaultLimits) } : {}),
        ...(props.allowedOrigins?.length ? { BGA_ALLOWED_ORIGINS: props.allowedOrigins.join(",") } : {}),
      },
    });

    props.table.grantReadWriteData(this.function);
    props.stateMachine.grantStartExecution(this.function);
    props.stateMachine.grantStopExecution(this.function);
    props.serviceSecret.grantRead(this.function);
    props.adminToken.grantRead(this.function);

    this.url = this.function.addFunctionUrl({
      authType: FunctionUrlAuthType.NONE,
      invokeMode: InvokeMode.RESPONSE_STREAM,
    });
  }
}
