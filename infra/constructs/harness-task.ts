import { ArnFormat, RemovalPolicy, Stack, Validations } from "aws-cdk-lib";
import {
  FlowLogDestination,
  FlowLogTrafficType,
  type IVpc,
  SecurityGroup,
  SubnetType,
  Vpc,
} from "aws-cdk-lib/aws-ec2";
import { Platform } from "aws-cdk-lib/aws-ecr-assets";
import {
  Cluster,
  ContainerImage,
  CpuArchitecture,
  FargateTaskDefinition,
  LogDrivers,
  OperatingSystemFamily,
} from "aws-cdk-lib/aws-ecs";
import { Grant, type IGrantable, Role, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import { LogGroup, RetentionDays } from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";
import type { HarnessRunProps } from "../../shared/state-machine/definition.js";
import { REPO_ROOT } from "./lambda-bundle.js";
import { ConstructPropsError } from "./props-error.js";

/** Fargate's allowed memory (MiB) for each CPU size (vCPU units), as AWS documents them. */
const FARGATE_SIZES: ReadonlyMap<number, (memory: number) => boolean> = new Map([
  [256, (m: number) => [512, 1024, 2048].includes(m)],
  [512, (m: number) => m >= 1024 && m <= 4096 && m % 1024 === 0],
  [1024, (m: number) => m >= 2048 && m <= 8192 && m % 1024 === 0],
  [2048, (m: number) => m >= 4096 && m <= 16_384 && m % 1024 === 0],
  [4096, (m: number) => m >= 8192 && m <= 30_720 && m % 1024 === 0],
  [8192, (m: number) => m >= 16_384 && m <= 61_440 && m % 4096 === 0],
  [16_384, (m: number) => m >= 32_768 && m <= 122_880 && m % 8192 === 0],
]);

/** Whether `cpu` (vCPU units) and `memoryMiB` are a Fargate task size. */
export function isFargateSize(cpu: number, memoryMiB: number): boolean {
  return FARGATE_SIZES.get(cpu)?.(memoryMiB) ?? false;
}

/** The container's name in the task definition (RunHarness overrides it by this name). */
export const HARNESS_CONTAINER_NAME = "harness";

/** The rule Step Functions keeps to learn that an ECS task of a `.sync` integration stopped. */
const SYNC_EVENTS_RULE = "StepFunctionsGetEventsForECSTaskRule";

export interface HarnessTaskProps {
  /**
   * The network of the harness containers. They need outbound HTTPS only (the API, the model
   * provider, the git host), through a public IP. @default a new VPC: two AZs, public subnets
   * only, no NAT gateway
   */
  readonly vpc?: IVpc;
  /** vCPU units of one harness task. @default 1024 (1 vCPU) */
  readonly cpu?: number;
  /** Memory of one harness task (MiB); must be a Fargate size for `cpu`. @default 2048 */
  readonly memoryMiB?: number;
  /** Retention of the containers' log group (and of the VPC flow log). @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
  /** What happens to the log groups when the stack is deleted. @default RemovalPolicy.RETAIN */
  readonly logRemovalPolicy?: RemovalPolicy;
  /**
   * The image: built by `cdk deploy` from the repository's Dockerfile (synth only stages the
   * files and needs no Docker). @default ContainerImage.fromAsset(<repo root>, Dockerfile, linux/arm64)
   */
  readonly image?: ContainerImage;
}

/**
 * Where harness tasks (SPEC §9) run in the cloud: one Fargate task (arm64) per harness task,
 * started by the task's execution (`ecs:runTask.sync`) from the container image of the
 * repository's Dockerfile (node, git, the pinned coding CLIs, functions/harness/main.ts).
 *
 * The container runs whatever shell commands the CLI chooses, so it is given nothing worth
 * taking: its task role has no policy at all (no table, no secret, no other task), its
 * execution role only pulls the image and writes its log stream, its security group allows no
 * inbound traffic, and its only credential is the capability of its own task in its ECS
 * overrides (shared/security/task-capability.ts), which the API's internal routes check.
 */
export class HarnessTask extends Construct {
  readonly vpc: IVpc;
  readonly cluster: Cluster;
  readonly taskDefinition: FargateTaskDefinition;
  readonly securityGroup: SecurityGroup;
  readonly logGroup: LogGroup;
  /** The role the container's code runs as: no permission of any kind. */
  readonly taskRole: Role;

  constructor(scope: Construct, id: string, props: HarnessTaskProps = {}) {
    super(scope, id);
    const cpu = props.cpu ?? 1024;
    const memoryMiB = props.memoryMiB ?? 2048;
    if (!isFargateSize(cpu, memoryMiB)) {
      throw new ConstructPropsError(
        this.node.path,
        `cpu ${cpu} with memoryMiB ${memoryMiB} is not a Fargate task size (e.g. 1024 with 2048-8192)`,
      );
    }
    const retention = props.logRetention ?? RetentionDays.ONE_MONTH;
    const removalPolicy = props.logRemovalPolicy ?? RemovalPolicy.RETAIN;

    if (props.vpc) {
      this.vpc = props.vpc;
    } else {
      const vpc = new Vpc(this, "Vpc", {
        maxAzs: 2,
        natGateways: 0,
        subnetConfiguration: [{ name: "public", subnetType: SubnetType.PUBLIC, cidrMask: 24 }],
      });
      // Arbitrary code runs in this network: keep a record of its connections.
      vpc.addFlowLog("FlowLog", {
        destination: FlowLogDestination.toCloudWatchLogs(
          new LogGroup(this, "FlowLogs", { retention, removalPolicy }),
        ),
        trafficType: FlowLogTrafficType.ALL,
      });
      this.vpc = vpc;
    }

    this.securityGroup = new SecurityGroup(this, "SecurityGroup", {
      vpc: this.vpc,
      description: "Harness containers: no inbound traffic, outbound only",
      allowAllOutbound: true,
    });

    this.cluster = new Cluster(this, "Cluster", { vpc: this.vpc });
    Validations.of(this.cluster).acknowledge({
      id: "AwsSolutions-ECS4",
      reason:
        "One short-lived task per harness run, whose outcome and usage are on the task itself and whose " +
        "output is in its log group; Container Insights would bill metrics per task for no decision we make",
    });

    this.logGroup = new LogGroup(this, "Logs", { retention, removalPolicy });
    this.taskRole = new Role(this, "TaskRole", {
      assumedBy: new ServicePrincipal("ecs-tasks.amazonaws.com"),
      description:
        "Harness containers: no permission (they reach the service through the capability of their task)",
    });
    this.taskDefinition = new FargateTaskDefinition(this, "TaskDefinition", {
      cpu,
      memoryLimitMiB: memoryMiB,
      runtimePlatform: {
        cpuArchitecture: CpuArchitecture.ARM64,
        operatingSystemFamily: OperatingSystemFamily.LINUX,
      },
      taskRole: this.taskRole,
    });
    Validations.of(this.taskDefinition.obtainExecutionRole()).acknowledge({
      id: "AwsSolutions-IAM5[Resource::*]",
      reason:
        "ecr:GetAuthorizationToken, which pulling the image needs, has no resource-level permission; the " +
        "execution role's other grants name the image repository and the container's log group",
    });
    this.taskDefinition.addContainer(HARNESS_CONTAINER_NAME, {
      image:
        props.image ??
        ContainerImage.fromAsset(REPO_ROOT, { file: "Dockerfile", platform: Platform.LINUX_ARM64 }),
      essential: true,
      logging: LogDrivers.awsLogs({ streamPrefix: "harness", logGroup: this.logGroup }),
      // Its environment comes from RunHarness's overrides (the task, the API URL, the capability).
    });
  }

  /** What the state machine definition needs to run a harness task here. */
  runProps(apiUrl: string): HarnessRunProps {
    return {
      clusterArn: this.cluster.clusterArn,
      taskDefinitionArn: this.taskDefinition.taskDefinitionArn,
      containerName: HARNESS_CONTAINER_NAME,
      subnetIds: this.vpc.selectSubnets({ subnetType: SubnetType.PUBLIC }).subnetIds,
      securityGroupIds: [this.securityGroup.securityGroupId],
      // Public subnets, no NAT gateway: a public IP is the containers' way out.
      assignPublicIp: true,
      apiUrl,
    };
  }

  /**
   * What a state machine needs to run this task definition with `ecs:runTask.sync` (the grants of
   * CDK's EcsRunTask, narrowed): RunTask of this task definition on this cluster, StopTask and
   * DescribeTasks of this cluster's tasks, PassRole of the two roles, and the EventBridge rule
   * through which Step Functions learns that the task stopped.
   */
  grantRun(grantee: IGrantable): Grant {
    const stack = Stack.of(this);
    const clusterTasks = stack.formatArn({
      service: "ecs",
      resource: "task",
      resourceName: `${this.cluster.clusterName}/*`,
      arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
    });
    const grants = [
      Grant.addToPrincipal({
        grantee,
        actions: ["ecs:RunTask"],
        resourceArns: [this.taskDefinition.taskDefinitionArn],
        conditions: { ArnEquals: { "ecs:cluster": this.cluster.clusterArn } },
      }),
      Grant.addToPrincipal({
        grantee,
        actions: ["ecs:StopTask", "ecs:DescribeTasks"],
        resourceArns: [clusterTasks],
        conditions: { ArnEquals: { "ecs:cluster": this.cluster.clusterArn } },
      }),
      Grant.addToPrincipal({
        grantee,
        actions: ["iam:PassRole"],
        resourceArns: [this.taskRole.roleArn, this.taskDefinition.obtainExecutionRole().roleArn],
        conditions: { StringEquals: { "iam:PassedToService": "ecs-tasks.amazonaws.com" } },
      }),
      Grant.addToPrincipal({
        grantee,
        actions: ["events:PutTargets", "events:PutRule", "events:DescribeRule"],
        resourceArns: [
          stack.formatArn({
            service: "events",
            resource: "rule",
            resourceName: SYNC_EVENTS_RULE,
            arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
          }),
        ],
      }),
    ];
    const [first, ...rest] = grants as [Grant, ...Grant[]];
    return rest.reduce((all, next) => all.combine(next), first);
  }
}
