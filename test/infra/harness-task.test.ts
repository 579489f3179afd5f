import { App, CfnElement } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { RetentionDays } from "aws-cdk-lib/aws-logs";
import { AwsSolutionsChecks } from "cdk-nag";
import type { IConstruct } from "constructs";
import { beforeAll, describe, expect, it } from "vitest";
import { HARNESS_CONTAINER_NAME, isFargateSize } from "../../infra/constructs/harness-task.js";
import {
  BackgroundAgentsStack,
  StackSettingsSchema,
  stackSettingsFromContext,
} from "../../infra/stacks/background-agents-stack.js";
import { ECS_RUN_TASK_SYNC, HARNESS_ENV, HARNESS_STATE } from "../../shared/state-machine/definition.js";

/**
 * The cloud side of harness tasks (SPEC §9): the Fargate task, its network and roles, and the
 * RunHarness state, as `cdk synth` writes them.
 */

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Resource = { Type: string; Properties: Record<string, Json>; DependsOn?: string[] | string };
type Statement = { Action: string | string[]; Resource: Json; Condition?: Json; Effect: string };

let stack: BackgroundAgentsStack;
let template: Template;
let resources: Record<string, Resource>;

function idOf(construct: IConstruct): string {
  const child = construct.node.defaultChild;
  if (!(child instanceof CfnElement))
    throw new Error(`${construct.node.path} has no CloudFormation resource`);
  return stack.getLogicalId(child);
}

function ofType(type: string): [string, Resource][] {
  return Object.entries(resources).filter(([, r]) => r.Type === type);
}

function statementsOfRole(roleId: string): Statement[] {
  return ofType("AWS::IAM::Policy")
    .filter(([, p]) => (p.Properties.Roles as { Ref: string }[]).some((r) => r.Ref === roleId))
    .flatMap(([, p]) => (p.Properties.PolicyDocument as { Statement: Statement[] }).Statement);
}

const actions = (s: Statement) => (Array.isArray(s.Action) ? s.Action : [s.Action]);

beforeAll(() => {
  const app = new App({ context: { "aws:cdk:bundling-stacks": [] } });
  stack = new BackgroundAgentsStack(app, "BackgroundAgents-harness", {
    stage: "test",
    logRetention: RetentionDays.TWO_WEEKS,
  });
  template = Template.fromStack(stack);
  resources = template.toJSON().Resources as Record<string, Resource>;
});

describe("the harness task definition", () => {
  it("is Fargate on arm64 Linux, 1 vCPU and 2 GB by default, one essential container from the repo's Dockerfile", () => {
    const [[, td]] = ofType("AWS::ECS::TaskDefinition") as [[string, Resource]];
    expect(td.Properties).toMatchObject({
      RequiresCompatibilities: ["FARGATE"],
      NetworkMode: "awsvpc",
      Cpu: "1024",
      Memory: "2048",
      RuntimePlatform: { CpuArchitecture: "ARM64", OperatingSystemFamily: "LINUX" },
    });
    const containers = td.Properties.ContainerDefinitions as Record<string, Json>[];
    expect(containers).toHaveLength(1);
    expect(containers[0]).toMatchObject({ Name: HARNESS_CONTAINER_NAME, Essential: true });
    // The image is a Docker asset of the repository (built by `cdk deploy`, not by synth).
    expect(JSON.stringify(containers[0]?.Image)).toContain("cdk-hnb659fds-container-assets");
  });

  it("has no environment, secret or command of its own: RunHarness's overrides give the task, API URL and capability", () => {
    const [[, td]] = ofType("AWS::ECS::TaskDefinition") as [[string, Resource]];
    const [container] = td.Properties.ContainerDefinitions as Record<string, Json>[];
    expect(container?.Environment).toBeUndefined();
    expect(container?.Secrets).toBeUndefined();
  });

  it("logs to its own log group with the stack's retention", () => {
    const [[, td]] = ofType("AWS::ECS::TaskDefinition") as [[string, Resource]];
    const [container] = td.Properties.ContainerDefinitions as { LogConfiguration: Json }[];
    expect(container?.LogConfiguration).toMatchObject({
      LogDriver: "awslogs",
      Options: { "awslogs-group": { Ref: idOf(stack.harness.logGroup) } },
    });
    expect(resources[idOf(stack.harness.logGroup)]?.Properties.RetentionInDays).toBe(14);
  });

  it("takes its size from the context, and refuses a size Fargate does not have", () => {
    const app = new App({
      context: { "aws:cdk:bundling-stacks": [], harnessCpu: "2048", harnessMemoryMiB: "8192" },
    });
    const settings = stackSettingsFromContext(app);
    const sized = new BackgroundAgentsStack(app, "BackgroundAgents-sized", {
      stage: "test",
      harnessCpu: settings.harnessCpu,
      harnessMemoryMiB: settings.harnessMemoryMiB,
    });
    Template.fromStack(sized).hasResourceProperties("AWS::ECS::TaskDefinition", {
      Cpu: "2048",
      Memory: "8192",
    });
    const bad = StackSettingsSchema.safeParse({ harnessCpu: 1024, harnessMemoryMiB: 1024 });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0]?.path).toEqual(["harnessMemoryMiB"]);
    expect(isFargateSize(256, 512)).toBe(true);
    expect(isFargateSize(4096, 8000)).toBe(false);
    expect(
      () =>
        new BackgroundAgentsStack(
          new App({ context: { "aws:cdk:bundling-stacks": [] } }),
          "BackgroundAgents-bad",
          {
            stage: "test",
            harnessCpu: 300,
          },
        ),
    ).toThrow(/not a Fargate task size/);
  });
});

describe("the harness containers' roles", () => {
  it("give the code in the container no permission at all: no policy on its task role", () => {
    const roleId = idOf(stack.harness.taskRole);
    expect(statementsOfRole(roleId)).toEqual([]);
    expect(resources[roleId]?.Properties.ManagedPolicyArns).toBeUndefined();
    expect(resources[roleId]?.Properties.Policies).toBeUndefined();
  });

  it("let the execution role pull the image and write the container's log only: no table, no secret", () => {
    const executionRole = stack.harness.taskDefinition.obtainExecutionRole();
    const statements = statementsOfRole(idOf(executionRole));
    const all = statements.flatMap(actions).sort();
    expect(all).toEqual(
      [
        "ecr:BatchCheckLayerAvailability",
        "ecr:BatchGetImage",
        "ecr:GetAuthorizationToken",
        "ecr:GetDownloadUrlForLayer",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
      ].sort(),
    );
    for (const action of all) expect(action).not.toMatch(/^(dynamodb|secretsmanager|kms|states|ssm):/);
  });

  it("are the only roles the state machine may pass, and only to ECS tasks", () => {
    const smRole = idOf(stack.stateMachine.stateMachine.role);
    const pass = statementsOfRole(smRole).filter((s) => actions(s).includes("iam:PassRole"));
    expect(pass).toHaveLength(1);
    expect(pass[0]?.Resource).toEqual([
      { "Fn::GetAtt": [idOf(stack.harness.taskRole), "Arn"] },
      { "Fn::GetAtt": [idOf(stack.harness.taskDefinition.obtainExecutionRole()), "Arn"] },
    ]);
    expect(pass[0]?.Condition).toEqual({
      StringEquals: { "iam:PassedToService": "ecs-tasks.amazonaws.com" },
    });
  });
});

describe("the state machine's ECS grants (what ecs:runTask.sync needs)", () => {
  const clusterArn = () => ({ "Fn::GetAtt": [idOf(stack.harness.cluster), "Arn"] });

  it("run this task definition on this cluster, and stop and describe only this cluster's tasks", () => {
    const statements = statementsOfRole(idOf(stack.stateMachine.stateMachine.role));
    const run = statements.filter((s) => actions(s).includes("ecs:RunTask"));
    expect(run).toEqual([
      {
        Action: "ecs:RunTask",
        Effect: "Allow",
        Resource: { Ref: idOf(stack.harness.taskDefinition) },
        Condition: { ArnEquals: { "ecs:cluster": clusterArn() } },
      },
    ]);
    const follow = statements.filter((s) => actions(s).includes("ecs:StopTask"));
    expect(follow).toHaveLength(1);
    expect(actions(follow[0] as Statement).sort()).toEqual(["ecs:DescribeTasks", "ecs:StopTask"]);
    expect(JSON.stringify(follow[0]?.Resource)).toContain(":task/");
    expect(JSON.stringify(follow[0]?.Resource)).toContain(`{"Ref":"${idOf(stack.harness.cluster)}"},"/*"`);
    expect(follow[0]?.Condition).toEqual({ ArnEquals: { "ecs:cluster": clusterArn() } });
  });

  it("manage only the EventBridge rule Step Functions uses to learn that the task stopped", () => {
    const statements = statementsOfRole(idOf(stack.stateMachine.stateMachine.role));
    const events = statements.filter((s) => actions(s).some((a) => a.startsWith("events:")));
    expect(events).toHaveLength(1);
    expect(actions(events[0] as Statement).sort()).toEqual([
      "events:DescribeRule",
      "events:PutRule",
      "events:PutTargets",
    ]);
    expect(JSON.stringify(events[0]?.Resource)).toMatch(/:rule\/StepFunctionsGetEventsForECSTaskRule"\]\]}$/);
  });

  it("grant no ECS, IAM or EventBridge action on every resource", () => {
    for (const [, policy] of ofType("AWS::IAM::Policy")) {
      for (const s of (policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement) {
        if (actions(s).some((a) => /^(ecs|iam|events):/.test(a))) expect(s.Resource).not.toBe("*");
      }
    }
  });
});

describe("the RunHarness state", () => {
  function definitionText(): string {
    const [[, sm]] = ofType("AWS::StepFunctions::StateMachine") as [[string, Resource]];
    const parts = (sm.Properties.DefinitionString as { "Fn::Join": [string, Json[]] })["Fn::Join"][1];
    return parts.map((p) => (typeof p === "string" ? p : `<<${JSON.stringify(p)}>>`)).join("");
  }

  it("runs the task definition on the cluster with ecs:runTask.sync, Fargate, public IP, the harness security group", () => {
    const text = definitionText();
    const def = JSON.parse(
      text.replace(/<<(.*?)>>/g, (_m, token: string) => `TOKEN:${token.replace(/"/g, "'")}`),
    );
    const state = def.States[HARNESS_STATE];
    expect(state.Resource).toBe(ECS_RUN_TASK_SYNC);
    const q = (token: Json) => `TOKEN:${JSON.stringify(token).replace(/"/g, "'")}`;
    expect(state.Parameters).toMatchObject({
      Cluster: q({ "Fn::GetAtt": [idOf(stack.harness.cluster), "Arn"] }),
      TaskDefinition: q({ Ref: idOf(stack.harness.taskDefinition) }),
      LaunchType: "FARGATE",
      NetworkConfiguration: {
        AwsvpcConfiguration: {
          Subnets: stack.harness.vpc.publicSubnets.map((s) => q({ Ref: idOf(s) })),
          SecurityGroups: [q({ "Fn::GetAtt": [idOf(stack.harness.securityGroup), "GroupId"] })],
          AssignPublicIp: "ENABLED",
        },
      },
    });
    const overrides = state.Parameters.Overrides.ContainerOverrides as {
      Name: string;
      Environment: unknown[];
    }[];
    expect(overrides).toEqual([
      {
        Name: HARNESS_CONTAINER_NAME,
        Environment: [
          { Name: HARNESS_ENV.apiUrl, Value: q({ "Fn::GetAtt": [idOf(stack.api.url), "FunctionUrl"] }) },
          { Name: HARNESS_ENV.tenantId, "Value.$": "$.tenant_id" },
          { Name: HARNESS_ENV.taskId, "Value.$": "$.task_id" },
          { Name: HARNESS_ENV.capability, "Value.$": "$.harness.capability" },
        ],
      },
    ]);
  });
});

describe("the harness network", () => {
  it("is a VPC with public subnets only and no NAT gateway", () => {
    expect(ofType("AWS::EC2::NatGateway")).toEqual([]);
    expect(ofType("AWS::EC2::EIP")).toEqual([]);
    const subnets = ofType("AWS::EC2::Subnet");
    expect(subnets).toHaveLength(2);
    for (const [, subnet] of subnets) expect(subnet.Properties.MapPublicIpOnLaunch).toBe(true);
    expect(ofType("AWS::EC2::InternetGateway")).toHaveLength(1);
  });

  it("lets the containers out and nothing in", () => {
    const sg = resources[idOf(stack.harness.securityGroup)];
    expect(sg?.Properties.SecurityGroupIngress).toBeUndefined();
    expect(sg?.Properties.SecurityGroupEgress).toEqual([
      { CidrIp: "0.0.0.0/0", Description: "Allow all outbound traffic by default", IpProtocol: "-1" },
    ]);
    expect(ofType("AWS::EC2::SecurityGroupIngress")).toEqual([]);
  });

  it("records its traffic in a flow log kept as long as the other logs", () => {
    const [[, flow]] = ofType("AWS::EC2::FlowLog") as [[string, Resource]];
    expect(flow.Properties).toMatchObject({
      ResourceType: "VPC",
      TrafficType: "ALL",
      LogDestinationType: "cloud-watch-logs",
    });
    const groups = ofType("AWS::Logs::LogGroup");
    for (const [, group] of groups) expect(group.Properties.RetentionInDays).toBe(14);
  });

  it("may be an existing VPC by context vpcId (looked up at synth), with no VPC of its own", () => {
    const env = { account: "123456789012", region: "eu-west-1" };
    const vpcId = "vpc-0123456789abcdef0";
    const app = new App({
      context: {
        "aws:cdk:bundling-stacks": [],
        // What `cdk synth` caches in cdk.context.json after the lookup.
        [`vpc-provider:account=${env.account}:filter.vpc-id=${vpcId}:region=${env.region}:returnAsymmetricSubnets=true`]:
          {
            vpcId,
            vpcCidrBlock: "10.1.0.0/16",
            ownerAccountId: env.account,
            availabilityZones: [],
            subnetGroups: [
              {
                name: "Public",
                type: "Public",
                subnets: [
                  {
                    subnetId: "subnet-aaa",
                    cidr: "10.1.0.0/24",
                    availabilityZone: "eu-west-1a",
                    routeTableId: "rtb-1",
                  },
                  {
                    subnetId: "subnet-bbb",
                    cidr: "10.1.1.0/24",
                    availabilityZone: "eu-west-1b",
                    routeTableId: "rtb-1",
                  },
                ],
              },
            ],
          },
      },
    });
    const existing = new BackgroundAgentsStack(app, "BackgroundAgents-vpc", { stage: "test", env, vpcId });
    const tpl = Template.fromStack(existing);
    expect(Object.keys(tpl.findResources("AWS::EC2::VPC"))).toEqual([]);
    expect(Object.keys(tpl.findResources("AWS::EC2::FlowLog"))).toEqual([]);
    tpl.hasResourceProperties("AWS::EC2::SecurityGroup", { VpcId: vpcId });
    const [sm] = Object.values(tpl.findResources("AWS::StepFunctions::StateMachine")) as Resource[];
    const text = JSON.stringify(sm?.Properties.DefinitionString);
    expect(text).toContain('\\"Subnets\\":[\\"subnet-aaa\\",\\"subnet-bbb\\"]');
    expect(StackSettingsSchema.safeParse({ vpcId: "default" }).success).toBe(false);
  });
});

describe("the template", () => {
  it("has no dependency cycle (the state machine needs the API's URL, the API only the state machine's ARN)", () => {
    const refs = (value: unknown, out: Set<string>): Set<string> => {
      if (Array.isArray(value)) for (const v of value) refs(v, out);
      else if (value && typeof value === "object") {
        for (const [key, v] of Object.entries(value)) {
          if (key === "Ref" && typeof v === "string" && v in resources) out.add(v);
          else if (key === "Fn::GetAtt" && Array.isArray(v) && typeof v[0] === "string") out.add(v[0]);
          else refs(v, out);
        }
      }
      return out;
    };
    const edges = new Map<string, Set<string>>();
    for (const [id, r] of Object.entries(resources)) {
      const deps = refs(r.Properties ?? {}, new Set());
      for (const d of [r.DependsOn ?? []].flat()) deps.add(d);
      edges.set(id, deps);
    }
    const state = new Map<string, "visiting" | "done">();
    const cycle: string[] = [];
    const visit = (id: string, path: string[]): boolean => {
      if (state.get(id) === "done") return false;
      if (state.get(id) === "visiting") {
        cycle.push(...path.slice(path.indexOf(id)), id);
        return true;
      }
      state.set(id, "visiting");
      for (const d of edges.get(id) ?? []) if (visit(d, [...path, id])) return true;
      state.set(id, "done");
      return false;
    };
    for (const id of edges.keys()) if (visit(id, [])) break;
    expect(cycle).toEqual([]);
  });

  it("leaves cdk-nag's AwsSolutions pack with no unacknowledged finding on the harness resources", () => {
    const report = new AwsSolutionsChecks().validateScope(stack.harness);
    expect(report.violations.map((v) => v.ruleName)).toEqual([]);
  });
});
