import { ArnFormat, CfnOutput, RemovalPolicy, Stack, type StackProps, Validations } from "aws-cdk-lib";
import { SnsAction } from "aws-cdk-lib/aws-cloudwatch-actions";
import { type IVpc, Vpc } from "aws-cdk-lib/aws-ec2";
import { RetentionDays } from "aws-cdk-lib/aws-logs";
import { Secret } from "aws-cdk-lib/aws-secretsmanager";
import type { ITopic } from "aws-cdk-lib/aws-sns";
import type { Construct } from "constructs";
import * as z from "zod";
import { TABLE_SCHEMA } from "../../shared/table-schema.js";
import { type Limits, LimitsPatchSchema } from "../../shared/tenants.js";
import { ApiDistribution, CertificateArnSchema, DomainNameSchema } from "../constructs/api-distribution.js";
import { ApiFunction } from "../constructs/api-function.js";
import { HarnessTask, isFargateSize } from "../constructs/harness-task.js";
import { AlarmEmailSchema, Monitoring } from "../constructs/monitoring.js";
import { ConstructPropsError } from "../constructs/props-error.js";
import { Reconciler } from "../constructs/reconciler.js";
import { RunnerFunction } from "../constructs/runner-function.js";
import { TaskStateMachine } from "../constructs/task-state-machine.js";
import { TaskTable } from "../constructs/task-table.js";
import { WebhookDelivery } from "../constructs/webhook-delivery.js";

const RETENTIONS = new Map<number, RetentionDays>(
  Object.values(RetentionDays)
    .filter((v): v is RetentionDays => typeof v === "number")
    .map((v) => [v, v]),
);

/** A context value as given: JSON text on the command line, any JSON value in cdk.json. */
const JsonSetting = z.unknown().transform((value, ctx): unknown => {
  if (typeof value !== "string") return value;
  try {
    return JSON.parse(value);
  } catch {
    ctx.addIssue({ code: "custom", message: "must be JSON (quoted for the shell: -c name='{…}')" });
    return z.NEVER;
  }
});

/** Limits as JSON (`-c defaultLimits='{"max_running_tasks":5}'`): only the limits given, each checked. */
const DefaultLimitsSetting = JsonSetting.pipe(
  z.record(z.string(), z.unknown(), {
    error: `must be a JSON object of limits, e.g. '{"max_running_tasks":5}'`,
  }),
).transform((given, ctx): Partial<Limits> => {
  const parsed = LimitsPatchSchema.safeParse(given);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      ctx.addIssue({ code: "custom", message: issue.message, path: issue.path });
    }
    return z.NEVER;
  }
  // The parse fills in every limit not given; keep those given, so the code's defaults stay the base.
  return Object.fromEntries(Object.entries(parsed.data).filter(([key]) => Object.hasOwn(given, key)));
});

const PAIRED_DOMAIN_SETTINGS = "domainName and certificateArn go together: give both or neither";
const isObjectPayload = (payload: { value: unknown }) =>
  typeof payload.value === "object" && payload.value !== null;

/** Settings a deployment chooses with `cdk synth -c name=value` (or cdk.json `context`). */
export const StackSettingsSchema = z
  .object({
    /** Deployment stage: part of the stack name. */
    stage: z
      .string()
      .regex(/^[a-z][a-z0-9-]{0,19}$/, "stage must be lowercase letters, digits and dashes (at most 20)")
      .default("dev"),
    /** Days every log group keeps its events; one of CloudWatch's allowed values. */
    logRetentionDays: z.coerce
      .number()
      .default(30)
      .transform((days, ctx) => {
        const retention = RETENTIONS.get(days);
        if (retention === undefined) {
          ctx.addIssue({
            code: "custom",
            message: `must be a CloudWatch retention in days: ${[...RETENTIONS.keys()].join(", ")}`,
          });
          return z.NEVER;
        }
        return retention;
      }),
    /** Limits of new tenants, where the create request names none. @default the code's defaults */
    defaultLimits: DefaultLimitsSetting.optional(),
    /** The API on this hostname through CloudFront; needs `certificateArn`. @default the Function URL only */
    domainName: DomainNameSchema.optional(),
    /** ACM certificate (us-east-1) of `domainName`. */
    certificateArn: CertificateArnSchema.optional(),
    /** Subscribed by email to the topic every alarm notifies. @default no subscription */
    alarmEmail: AlarmEmailSchema.optional(),
    /** vCPU units of a harness task's Fargate container (SPEC §9). @default 1024 */
    harnessCpu: z.coerce.number().int().positive().optional(),
    /** Memory (MiB) of a harness task's container; a Fargate size for harnessCpu. @default 2048 */
    harnessMemoryMiB: z.coerce.number().int().positive().optional(),
    /**
     * Run harness containers in this existing VPC (its public subnets; looked up at synth, which
     * then needs AWS credentials once). @default a new VPC with public subnets and no NAT gateway
     */
    vpcId: z
      .string()
      .regex(/^vpc-[0-9a-f]{8,17}$/, "must be a VPC ID (vpc-…)")
      .optional(),
  })
  .refine((settings) => isFargateSize(settings.harnessCpu ?? 1024, settings.harnessMemoryMiB ?? 2048), {
    path: ["harnessMemoryMiB"],
    message: "harnessCpu and harnessMemoryMiB must be a Fargate task size (e.g. 1024 with 2048-8192)",
    when: isObjectPayload,
  })
  // Checked even when another setting is bad (`when`), so that every problem is listed at once.
  .refine((settings) => settings.domainName !== undefined || settings.certificateArn === undefined, {
    path: ["domainName"],
    message: PAIRED_DOMAIN_SETTINGS,
    when: isObjectPayload,
  })
  .refine((settings) => settings.certificateArn !== undefined || settings.domainName === undefined, {
    path: ["certificateArn"],
    message: PAIRED_DOMAIN_SETTINGS,
    when: isObjectPayload,
  });
export type StackSettings = z.infer<typeof StackSettingsSchema>;

/** Reads the stack settings from the CDK context; throws a clear message for a bad value. */
export function stackSettingsFromContext(scope: Construct): StackSettings {
  const raw = Object.fromEntries(
    (
      [
        "stage",
        "logRetentionDays",
        "defaultLimits",
        "domainName",
        "certificateArn",
        "alarmEmail",
        "harnessCpu",
        "harnessMemoryMiB",
        "vpcId",
      ] as const
    )
      .map((key) => [key, scope.node.tryGetContext(key)] as const)
      .filter(([, value]) => value !== undefined),
  );
  const parsed = StackSettingsSchema.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  -c ${i.path.join(".")}: ${i.message}`);
    throw new ConstructPropsError("context", `invalid settings:\n${lines.join("\n")}`);
  }
  return parsed.data;
}

export interface BackgroundAgentsStackProps extends StackProps {
  /** Deployment stage (e.g. `dev`, `prod`). */
  readonly stage: string;
  /** Retention of every log group. @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
  /** Topic every alarm notifies. @default a topic of the stack (output `AlarmTopicArn`) */
  readonly alarmTopic?: ITopic;
  /** An email address subscribed to the alarm topic (it must confirm). @default no subscription */
  readonly alarmEmail?: string;
  /**
   * Limits of tenants created through the admin API, where the create request names none.
   * @default {} (the defaults of shared/tenants.ts)
   */
  readonly defaultLimits?: Partial<Limits>;
  /**
   * Serve the API on this hostname too, through a CloudFront distribution (no DNS record is
   * made: point a CNAME or alias at the `DistributionDomainName` output). Needs `certificateArn`.
   * @default the Function URL only, no CloudFront
   */
  readonly domainName?: string;
  /** ACM certificate in us-east-1 covering `domainName`. @default none (no custom domain) */
  readonly certificateArn?: string;
  /** vCPU units of a harness task (SPEC §9). @default 1024 */
  readonly harnessCpu?: number;
  /** Memory (MiB) of a harness task. @default 2048 */
  readonly harnessMemoryMiB?: number;
  /** The network of the harness containers. @default a new VPC, public subnets, no NAT gateway */
  readonly harnessVpc?: IVpc;
  /** An existing VPC by ID for the harness containers (looked up at synth); ignored with `harnessVpc`. */
  readonly vpcId?: string;
}

/**
 * The whole service on AWS: the table, the runner Lambda and the task state machine, the API
 * Lambda behind a streaming Function URL (and, with a custom domain, a CloudFront distribution),
 * the reconciler of executions that end outside the API, two generated secrets (the admin token,
 * the service secret), alarms on our own faults sent to one SNS topic, and a dashboard.
 * There is no default tenant: tenants, their configs, keys and secrets are created through the
 * admin API and live in the table (SPEC §7).
 */
export class BackgroundAgentsStack extends Stack {
  readonly tasks: TaskTable;
  readonly runner: RunnerFunction;
  readonly stateMachine: TaskStateMachine;
  readonly api: ApiFunction;
  readonly reconciler: Reconciler;
  /** Completion webhooks: the delivery queue, its dead-letter queue and alarm, the sender. */
  readonly webhookDelivery: WebhookDelivery;
  /** Where harness tasks run: the Fargate task definition, its cluster and network (SPEC §9). */
  readonly harness: HarnessTask;
  /** The CloudFront distribution of the custom domain, if one is set. */
  readonly customDomain?: ApiDistribution;
  readonly monitoring: Monitoring;
  readonly adminToken: Secret;
  readonly serviceSecret: Secret;

  constructor(scope: Construct, id: string, props: BackgroundAgentsStackProps) {
    super(scope, id, {
      description: `Background Agents Cloud (${props.stage}): background sub-agent tasks as Step Functions executions`,
      ...props,
    });
    const logRetention = props.logRetention ?? RetentionDays.ONE_MONTH;
    if ((props.domainName === undefined) !== (props.certificateArn === undefined)) {
      throw new ConstructPropsError(this.node.path, PAIRED_DOMAIN_SETTINGS);
    }
    if (props.alarmEmail !== undefined && !AlarmEmailSchema.safeParse(props.alarmEmail).success) {
      throw new ConstructPropsError(this.node.path, `alarmEmail ${props.alarmEmail} is not an email address`);
    }

    this.adminToken = new Secret(this, "AdminToken", {
      description: `Background Agents (${props.stage}): bearer token of the admin API`,
      generateSecretString: { passwordLength: 48, excludePunctuation: true, includeSpace: false },
    });
    Validations.of(this.adminToken).acknowledge({
      id: "AwsSolutions-SMG4",
      reason:
        "A bearer token handed to people: rotated by an operator (put a new value), not by a rotation Lambda",
    });
    // Keys the API-key hashes and encrypts tenant secrets in the table (shared/security/service-secret.ts),
    // so it is kept with the table (which is retained) and never rotated.
    this.serviceSecret = new Secret(this, "ServiceSecret", {
      description: `Background Agents (${props.stage}): service secret keying API-key hashes and tenant-secret encryption`,
      generateSecretString: { passwordLength: 64, excludePunctuation: true, includeSpace: false },
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(this.serviceSecret).acknowledge({
      id: "AwsSolutions-SMG4",
      reason:
        "Rotating the service secret would invalidate every stored API key hash and encrypted tenant secret",
    });

    this.tasks = new TaskTable(this, "Tasks");
    // A fixed state machine name gives the runner its ARN (for nested dispatch) without a cycle:
    // the state machine itself depends on the runner's ARN.
    const stateMachineName = `${this.stackName}-tasks`;
    const stateMachineArn = this.formatArn({
      service: "states",
      resource: "stateMachine",
      resourceName: stateMachineName,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    this.runner = new RunnerFunction(this, "Runner", {
      table: this.tasks,
      serviceSecret: this.serviceSecret,
      stateMachine: { arn: stateMachineArn, name: stateMachineName },
      logRetention,
    });
    // The API knows the state machine by its ARN alone, so that the state machine can be given the
    // API's URL (where harness containers report) without a dependency cycle.
    this.api = new ApiFunction(this, "Api", {
      table: this.tasks,
      stateMachine: TaskStateMachine.fromName(this, "TaskStateMachineRef", stateMachineName),
      serviceSecret: this.serviceSecret,
      adminToken: this.adminToken,
      logRetention,
      defaultLimits: props.defaultLimits,
      // A browser on the custom domain (the team console) calls the API from that origin.
      ...(props.domainName ? { allowedOrigins: [`https://${props.domainName}`] } : {}),
    });
    const harnessVpc =
      props.harnessVpc ??
      (props.vpcId ? Vpc.fromLookup(this, "HarnessVpc", { vpcId: props.vpcId }) : undefined);
    this.harness = new HarnessTask(this, "Harness", {
      ...(harnessVpc ? { vpc: harnessVpc } : {}),
      ...(props.harnessCpu !== undefined ? { cpu: props.harnessCpu } : {}),
      ...(props.harnessMemoryMiB !== undefined ? { memoryMiB: props.harnessMemoryMiB } : {}),
      logRetention,
    });
    this.stateMachine = new TaskStateMachine(this, "TaskStateMachine", {
      runner: this.runner,
      stateMachineName,
      logRetention,
      // Containers reach the internal routes on the Function URL (the custom domain's DNS record
      // is not made by this stack, so it may not resolve yet).
      harness: {
        run: this.harness.runProps(this.api.url.url),
        grantRun: (grantee) => this.harness.grantRun(grantee),
      },
    });
    if (props.domainName !== undefined && props.certificateArn !== undefined) {
      this.customDomain = new ApiDistribution(this, "CustomDomain", {
        url: this.api.url,
        domainName: props.domainName,
        certificateArn: props.certificateArn,
        logRetention,
      });
    }
    this.webhookDelivery = new WebhookDelivery(this, "WebhookDelivery", {
      table: this.tasks,
      serviceSecret: this.serviceSecret,
      logRetention,
    });
    this.reconciler = new Reconciler(this, "Reconciler", {
      table: this.tasks,
      stateMachine: this.stateMachine,
      webhookDelivery: this.webhookDelivery,
      logRetention,
    });
    this.monitoring = new Monitoring(this, "Monitoring", {
      stateMachine: this.stateMachine.stateMachine,
      api: this.api.function,
      runner: this.runner.function,
      runnerLogGroup: this.runner.function.logGroup,
      reconciler: this.reconciler.function,
      deadLetterQueue: this.reconciler.deadLetterQueue,
      table: this.tasks.table,
      tableIndexNames: TABLE_SCHEMA.indexes.map((index) => index.name),
      ...(props.alarmTopic ? { alarmTopic: props.alarmTopic } : {}),
      ...(props.alarmEmail !== undefined ? { alarmEmail: props.alarmEmail } : {}),
    });
    // The webhook dead-letter alarm goes where every other alarm goes.
    this.webhookDelivery.addAlarmAction(new SnsAction(this.monitoring.alarmTopic));

    new CfnOutput(this, "ApiUrl", {
      value: this.api.url.url,
      description: "Base URL of the API (MCP at /mcp)",
    });
    if (this.customDomain) {
      new CfnOutput(this, "CustomDomainUrl", {
        value: this.customDomain.url,
        description: "Base URL of the API on the custom domain, once its DNS record exists",
      });
      new CfnOutput(this, "DistributionDomainName", {
        value: this.customDomain.distribution.distributionDomainName,
        description: "Target of the custom domain's CNAME or alias record (not made by this stack)",
      });
    }
    new CfnOutput(this, "StateMachineArn", { value: this.stateMachine.stateMachineArn });
    new CfnOutput(this, "TableName", { value: this.tasks.tableName });
    new CfnOutput(this, "AdminTokenSecretArn", { value: this.adminToken.secretArn });
    new CfnOutput(this, "ServiceSecretArn", { value: this.serviceSecret.secretArn });
    new CfnOutput(this, "AlarmTopicArn", {
      value: this.monitoring.alarmTopic.topicArn,
      description: "SNS topic every alarm notifies: subscribe people or a pager to it",
    });
  }
}
