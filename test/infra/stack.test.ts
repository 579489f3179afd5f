import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { App, CfnElement } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import { CachePolicy, OriginRequestPolicy } from "aws-cdk-lib/aws-cloudfront";
import { RetentionDays } from "aws-cdk-lib/aws-logs";
import { AwsSolutionsChecks, ServerlessChecks } from "cdk-nag";
import type { IConstruct } from "constructs";
import { beforeAll, describe, expect, it } from "vitest";
import { RECONCILER_METRIC, RUNNER_STEP_FAILED_MESSAGE } from "../../infra/constructs/monitoring.js";
import { REPO_ROOT } from "../../infra/constructs/node-function.js";
import { BackgroundAgentsStack } from "../../infra/stacks/background-agents-stack.js";
import { stateMachineDefinition } from "../../shared/state-machine/definition.js";
import { createTableInput, TABLE_SCHEMA } from "../../shared/table-schema.js";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Resource = { Type: string; Properties: Record<string, Json> };

/** Bundling is the slow part and is not what these tests check: `cdk synth` does the real one. */
function testApp(): App {
  return new App({ context: { "aws:cdk:bundling-stacks": [] } });
}

let app: App;
let stack: BackgroundAgentsStack;
let template: Template;

function resourcesOf(type: string): Record<string, Resource> {
  return template.findResources(type) as Record<string, Resource>;
}

function only<T>(record: Record<string, T>): [string, T] {
  const entries = Object.entries(record);
  expect(entries).toHaveLength(1);
  return entries[0] as [string, T];
}

/** The logical ID of an L2 construct's CloudFormation resource. */
function idOf(construct: IConstruct | undefined): string {
  const child = construct?.node.defaultChild;
  if (!(child instanceof CfnElement))
    throw new Error(`${construct?.node.path} has no CloudFormation resource`);
  return stack.getLogicalId(child);
}

/** Every statement of every IAM policy attached to a role, by role logical ID. */
function statementsOfRole(roleId: string): { Action: string | string[]; Resource: Json }[] {
  const out: { Action: string | string[]; Resource: Json }[] = [];
  for (const policy of Object.values(resourcesOf("AWS::IAM::Policy"))) {
    const roles = policy.Properties.Roles as { Ref: string }[];
    if (!roles.some((r) => r.Ref === roleId)) continue;
    const doc = policy.Properties.PolicyDocument as {
      Statement: { Action: string | string[]; Resource: Json }[];
    };
    out.push(...doc.Statement);
  }
  return out;
}

/** The text of every TypeScript file under these folders of the repository. */
function sourcesUnder(...folders: string[]): string[] {
  return folders.flatMap((folder) =>
    readdirSync(join(REPO_ROOT, folder), { recursive: true, encoding: "utf8" })
      .filter((name) => name.endsWith(".ts"))
      .map((name) => readFileSync(join(REPO_ROOT, folder, name), "utf8")),
  );
}

function roles(): Record<string, Resource> {
  return resourcesOf("AWS::IAM::Role");
}

/** Whether an environment value is `{Ref: <a secret of the stack>}` (a secret's ARN). */
function isSecretRef(value: Json, secretIds: Set<string>): boolean {
  return (
    typeof value === "object" &&
    value !== null &&
    !Array.isArray(value) &&
    typeof value.Ref === "string" &&
    secretIds.has(value.Ref)
  );
}

function actionsOf(statement: { Action: string | string[] }): string[] {
  return Array.isArray(statement.Action) ? statement.Action : [statement.Action];
}

beforeAll(() => {
  app = testApp();
  stack = new BackgroundAgentsStack(app, "BackgroundAgents-test", { stage: "test" });
  template = Template.fromStack(stack);
});

describe("task table", () => {
  it("has exactly the keys, indexes and TTL of TABLE_SCHEMA", () => {
    const local = createTableInput("any");
    template.hasResourceProperties("AWS::DynamoDB::Table", {
      KeySchema: [
        { AttributeName: TABLE_SCHEMA.partitionKey, KeyType: "HASH" },
        { AttributeName: TABLE_SCHEMA.sortKey, KeyType: "RANGE" },
      ],
      AttributeDefinitions: Match.arrayWith(local.AttributeDefinitions ?? []),
      // The same indexes as the local table, projecting keys and `agent` only (no ALL).
      GlobalSecondaryIndexes: local.GlobalSecondaryIndexes,
      TimeToLiveSpecification: { AttributeName: TABLE_SCHEMA.ttlAttribute, Enabled: true },
      BillingMode: "PAY_PER_REQUEST",
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true },
    });
    const [, table] = only(resourcesOf("AWS::DynamoDB::Table"));
    // The same attribute definitions as the table the local runtime creates, no more.
    expect(table.Properties.AttributeDefinitions).toHaveLength(local.AttributeDefinitions?.length ?? -1);
    expect(table.Properties.KeySchema).toEqual(local.KeySchema);
  });
});

describe("state machine", () => {
  it("is the one definition of shared/state-machine/definition.ts, invoking the runner", () => {
    const [, sm] = only(resourcesOf("AWS::StepFunctions::StateMachine"));
    expect(sm.Properties.StateMachineType).toBe("STANDARD");
    expect(sm.Properties.TracingConfiguration).toEqual({ Enabled: true });
    const placeholder = "arn:aws:lambda:us-east-1:123456789012:function:runner-placeholder";
    const harness = stack.harness;
    const subnets = harness.vpc.publicSubnets.map((subnet) => idOf(subnet));
    // Each reference the definition may hold, and what stands for it in the expected definition.
    const tokens = new Map<string, string>([
      [JSON.stringify({ "Fn::GetAtt": [idOf(stack.runner.function), "Arn"] }), placeholder],
      [JSON.stringify({ "Fn::GetAtt": [idOf(harness.cluster), "Arn"] }), "cluster-arn"],
      [JSON.stringify({ Ref: idOf(harness.taskDefinition) }), "task-definition-arn"],
      [JSON.stringify({ "Fn::GetAtt": [idOf(harness.securityGroup), "GroupId"] }), "sg-harness"],
      [JSON.stringify({ "Fn::GetAtt": [idOf(stack.api.url), "FunctionUrl"] }), "https://api.example/"],
      ...subnets.map((id, i) => [JSON.stringify({ Ref: id }), `subnet-${i}`] as [string, string]),
    ]);
    const body = sm.Properties.DefinitionString as { "Fn::Join": [string, Json[]] };
    const [separator, parts] = body["Fn::Join"];
    expect(separator).toBe("");
    const text = parts
      .map((part) => {
        if (typeof part === "string") return part;
        const stand = tokens.get(JSON.stringify(part));
        expect(stand, JSON.stringify(part)).toBeDefined();
        return stand;
      })
      .join("");
    expect(subnets).toHaveLength(2);
    expect(JSON.parse(text)).toEqual(
      stateMachineDefinition({
        runnerFunctionArn: placeholder,
        harness: {
          clusterArn: "cluster-arn",
          taskDefinitionArn: "task-definition-arn",
          containerName: "harness",
          subnetIds: subnets.map((_, i) => `subnet-${i}`),
          securityGroupIds: ["sg-harness"],
          assignPublicIp: true,
          apiUrl: "https://api.example/",
        },
      }),
    );
  });

  it("logs every event to a log group with a retention", () => {
    const [, sm] = only(resourcesOf("AWS::StepFunctions::StateMachine"));
    expect(sm.Properties.LoggingConfiguration).toMatchObject({ Level: "ALL" });
  });

  it("may invoke the runner and nothing else in Lambda", () => {
    const statements = statementsOfRole(idOf(stack.stateMachine.stateMachine.role));
    const invoke = statements.filter((s) => actionsOf(s).some((a) => a.startsWith("lambda:")));
    expect(invoke).toHaveLength(1);
    const runnerArn = { "Fn::GetAtt": [idOf(stack.runner.function), "Arn"] };
    expect(invoke[0]?.Resource).toEqual([runnerArn, { "Fn::Join": ["", [runnerArn, ":*"]] }]);
  });
});

describe("functions", () => {
  it("run Node.js 24 on ARM64, with active tracing", () => {
    const functions = Object.values(resourcesOf("AWS::Lambda::Function"));
    expect(functions.length).toBeGreaterThanOrEqual(3);
    for (const fn of functions) {
      expect(fn.Properties.Runtime).toBe("nodejs24.x");
      expect(fn.Properties.Architectures).toEqual(["arm64"]);
      // X-Ray without an SDK in the bundle: Lambda records the invocation's segments itself.
      expect(fn.Properties.TracingConfig).toEqual({ Mode: "Active" });
    }
  });

  it("give the runner its table, its budget and a 15 minute timeout", () => {
    template.hasResourceProperties("AWS::Lambda::Function", {
      Timeout: 900,
      Environment: {
        Variables: Match.objectLike({
          BGA_TABLE_NAME: { Ref: idOf(stack.tasks.table) },
          BGA_RUNNER_BUDGET_SECONDS: "600",
        }),
      },
    });
  });

  it("give the API the table and the state machine", () => {
    const fn = resourcesOf("AWS::Lambda::Function")[idOf(stack.api.function)];
    expect(fn?.Properties.Environment).toMatchObject({
      Variables: {
        BGA_TABLE_NAME: { Ref: idOf(stack.tasks.table) },
      },
    });
    // By its ARN (the state machine's fixed name), not a reference: the state machine needs the API's URL.
    const arn = JSON.stringify(
      (fn?.Properties.Environment as { Variables: Record<string, Json> } | undefined)?.Variables
        .BGA_STATE_MACHINE_ARN,
    );
    expect(arn).toContain(`:stateMachine:${stack.stackName}-tasks`);
  });

  it("carry no provider credential, secret value or agent config in any environment", () => {
    const secretIds = new Set(Object.keys(resourcesOf("AWS::SecretsManager::Secret")));
    for (const fn of Object.values(resourcesOf("AWS::Lambda::Function"))) {
      const env =
        (fn.Properties.Environment as { Variables?: Record<string, Json> } | undefined)?.Variables ?? {};
      for (const name of Object.keys(env)) expect(name).not.toMatch(/OPENAI|ANTHROPIC|API_KEY|BGA_CONFIG/);
      // No dynamic reference that CloudFormation would resolve to a secret's value at deploy time.
      expect(JSON.stringify(env)).not.toMatch(/resolve:secretsmanager|resolve:ssm-secure/);
      // A secret appears only as its ARN ({Ref}), under a name that says so.
      for (const [name, value] of Object.entries(env)) {
        expect(isSecretRef(value, secretIds)).toBe(name.endsWith("_SECRET_ARN"));
      }
    }
  });

  it("give the runner the service secret's ARN and the secrets extension", () => {
    const fn = resourcesOf("AWS::Lambda::Function")[idOf(stack.runner.function)];
    expect(fn?.Properties.Environment).toMatchObject({
      Variables: { BGA_SERVICE_SECRET_ARN: { Ref: idOf(stack.serviceSecret) } },
    });
    expect(fn?.Properties.Layers).toHaveLength(1);
  });

  it("log to log groups with the configured retention", () => {
    const groups = Object.values(resourcesOf("AWS::Logs::LogGroup"));
    expect(groups.length).toBeGreaterThanOrEqual(4);
    for (const group of groups) expect(group.Properties.RetentionInDays).toBe(30);
  });
});

describe("API", () => {
  it("is served by a Function URL with response streaming, the app checking keys itself", () => {
    template.hasResourceProperties("AWS::Lambda::Url", {
      AuthType: "NONE",
      InvokeMode: "RESPONSE_STREAM",
      TargetFunctionArn: { "Fn::GetAtt": [idOf(stack.api.function), "Arn"] },
    });
  });

  it("may start executions of the state machine only, and stop only its executions", () => {
    const statements = statementsOfRole(idOf(stack.api.function.role));
    const states = statements.filter((s) => actionsOf(s).some((a) => a.startsWith("states:")));
    const name = `${stack.stackName}-tasks`;
    expect(states.map(actionsOf)).toEqual([["states:StartExecution"], ["states:StopExecution"]]);
    // By ARN from the fixed name: the state machine depends on the API (its URL), not the reverse.
    expect(JSON.stringify(states[0]?.Resource)).toMatch(new RegExp(`:stateMachine:${name}"\\]\\]}$`));
    expect(JSON.stringify(states[1]?.Resource)).toMatch(new RegExp(`:execution:${name}:\\*"\\]\\]}$`));
  });

  it("lets the runner start and stop executions of the task state machine only (nested dispatch)", () => {
    const name = `${stack.stackName}-tasks`;
    template.hasResourceProperties("AWS::StepFunctions::StateMachine", { StateMachineName: name });
    const statements = statementsOfRole(idOf(stack.runner.function.role));
    const states = statements.filter((s) => actionsOf(s).some((a) => a.startsWith("states:")));
    expect(states.map(actionsOf)).toEqual([["states:StartExecution"], ["states:StopExecution"]]);
    const flat = (r: Json) => JSON.stringify(r);
    expect(flat(states[0]?.Resource as Json)).toContain(`:stateMachine:${name}`);
    expect(flat(states[1]?.Resource as Json)).toContain(`:execution:${name}:*`);
    const env = template.findResources("AWS::Lambda::Function", {
      Properties: {
        Environment: {
          Variables: { BGA_STATE_MACHINE_ARN: Match.anyValue(), BGA_RUNNER_BUDGET_SECONDS: Match.anyValue() },
        },
      },
    });
    expect(Object.keys(env)).toHaveLength(1);
  });

  it("lets the runner invoke Bedrock models and nothing else in Bedrock", () => {
    const statements = statementsOfRole(idOf(stack.runner.function.role));
    const bedrock = statements.filter((s) => actionsOf(s).some((a) => a.startsWith("bedrock:")));
    expect(bedrock.map(actionsOf)).toEqual([
      ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"],
    ]);
    expect(JSON.stringify(bedrock[0]?.Resource)).toContain("foundation-model/*");
  });

  it("gives the API the ARNs of its two secrets and the secrets extension", () => {
    const fn = resourcesOf("AWS::Lambda::Function")[idOf(stack.api.function)];
    expect(fn?.Properties.Environment).toMatchObject({
      Variables: {
        BGA_SERVICE_SECRET_ARN: { Ref: idOf(stack.serviceSecret) },
        BGA_ADMIN_TOKEN_SECRET_ARN: { Ref: idOf(stack.adminToken) },
      },
    });
    expect(fn?.Properties.Layers).toHaveLength(1);
  });
});

describe("secrets", () => {
  it("are the admin token and the service secret, both generated, with no default tenant key", () => {
    const secrets = resourcesOf("AWS::SecretsManager::Secret");
    expect(Object.keys(secrets).sort()).toEqual([idOf(stack.adminToken), idOf(stack.serviceSecret)].sort());
    expect(secrets[idOf(stack.adminToken)]?.Properties.GenerateSecretString).toMatchObject({
      PasswordLength: 48,
      ExcludePunctuation: true,
    });
    // ServiceKeys needs at least 32 bytes; 64 letters and digits are about 380 bits.
    expect(secrets[idOf(stack.serviceSecret)]?.Properties.GenerateSecretString).toMatchObject({
      PasswordLength: 64,
      ExcludePunctuation: true,
    });
  });

  it("keep the service secret when the stack is deleted, as the table is kept", () => {
    const secret = template.toJSON().Resources[idOf(stack.serviceSecret)] as { DeletionPolicy?: string };
    expect(secret.DeletionPolicy).toBe("Retain");
    const table = template.toJSON().Resources[idOf(stack.tasks.table)] as { DeletionPolicy?: string };
    expect(table.DeletionPolicy).toBe("Retain");
  });

  it("the service secret may be read by the API and the runner; the admin token by the API only", () => {
    const readers = (secret: IConstruct) =>
      Object.entries(roles())
        .filter(([roleId]) =>
          statementsOfRole(roleId).some(
            (s) =>
              actionsOf(s).includes("secretsmanager:GetSecretValue") &&
              JSON.stringify(s.Resource) === JSON.stringify({ Ref: idOf(secret) }),
          ),
        )
        .map(([roleId]) => roleId)
        .sort();
    const apiRole = idOf(stack.api.function.role);
    const runnerRole = idOf(stack.runner.function.role);
    // The webhook sender decrypts the tenants' webhook signing secrets with it.
    const webhookRole = idOf(stack.webhookDelivery.function.role);
    expect(readers(stack.serviceSecret)).toEqual([apiRole, runnerRole, webhookRole].sort());
    expect(readers(stack.adminToken)).toEqual([apiRole]);
  });

  it("no role may read any other secret", () => {
    for (const roleId of Object.keys(roles())) {
      for (const statement of statementsOfRole(roleId)) {
        if (!actionsOf(statement).some((a) => a.startsWith("secretsmanager:"))) continue;
        expect([{ Ref: idOf(stack.serviceSecret) }, { Ref: idOf(stack.adminToken) }]).toContainEqual(
          statement.Resource,
        );
      }
    }
  });

  it("are exported as outputs by ARN, never by value", () => {
    const outputs = template.toJSON().Outputs as Record<string, { Value: Json }>;
    expect(outputs.AdminTokenSecretArn?.Value).toEqual({ Ref: idOf(stack.adminToken) });
    expect(outputs.ServiceSecretArn?.Value).toEqual({ Ref: idOf(stack.serviceSecret) });
    expect(Object.keys(outputs).filter((k) => /DefaultTenant/.test(k))).toEqual([]);
    expect(JSON.stringify(outputs)).not.toMatch(/resolve:secretsmanager/);
  });
});

describe("IAM", () => {
  it("grants no Step Functions or DynamoDB action on every resource", () => {
    for (const policy of Object.values(resourcesOf("AWS::IAM::Policy"))) {
      const doc = policy.Properties.PolicyDocument as {
        Statement: { Action: string | string[]; Resource: Json }[];
      };
      for (const statement of doc.Statement) {
        const scoped = actionsOf(statement).some((a) => a.startsWith("states:") || a.startsWith("dynamodb:"));
        if (!scoped) continue;
        const resources = Array.isArray(statement.Resource) ? statement.Resource : [statement.Resource];
        expect(resources).not.toContain("*");
        expect(actionsOf(statement)).not.toContain("dynamodb:Scan");
      }
    }
  });

  it("gives no function an AWS managed policy", () => {
    for (const role of Object.values(resourcesOf("AWS::IAM::Role"))) {
      expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    }
  });
});

describe("reconciler", () => {
  it("receives every ended execution of the task state machine (failed, timed out, aborted; succeeded for webhooks)", () => {
    template.hasResourceProperties("AWS::Events::Rule", {
      EventPattern: {
        source: ["aws.states"],
        "detail-type": ["Step Functions Execution Status Change"],
        detail: {
          status: ["FAILED", "TIMED_OUT", "ABORTED", "SUCCEEDED"],
          stateMachineArn: [{ Ref: idOf(stack.stateMachine.stateMachine) }],
        },
      },
      Targets: [
        Match.objectLike({
          Arn: { "Fn::GetAtt": [idOf(stack.reconciler.function), "Arn"] },
          DeadLetterConfig: { Arn: { "Fn::GetAtt": [idOf(stack.reconciler.deadLetterQueue), "Arn"] } },
        }),
      ],
    });
  });
});

describe("sweep for tasks stuck open", () => {
  it("an EventBridge Scheduler schedule invokes the reconciler every 5 minutes with the sweep input", () => {
    template.hasResourceProperties("AWS::Scheduler::Schedule", {
      ScheduleExpression: "rate(5 minutes)",
      State: "ENABLED",
      Target: Match.objectLike({
        Arn: { "Fn::GetAtt": [idOf(stack.reconciler.function), "Arn"] },
        Input: JSON.stringify({ action: "sweep" }),
        RetryPolicy: Match.objectLike({ MaximumRetryAttempts: 0 }),
        DeadLetterConfig: { Arn: { "Fn::GetAtt": [idOf(stack.reconciler.deadLetterQueue), "Arn"] } },
      }),
    });
  });

  it("the reconciler may describe and start the state machine's executions, and knows its ARN", () => {
    template.hasResourceProperties("AWS::Lambda::Function", {
      FunctionName: Match.absent(),
      Environment: {
        Variables: Match.objectLike({
          BGA_STATE_MACHINE_ARN: { Ref: idOf(stack.stateMachine.stateMachine) },
        }),
      },
      Description: Match.stringLikeRegexp("marks tasks failed"),
    });
    const statements = Object.values(resourcesOf("AWS::IAM::Policy"))
      .filter((p) =>
        JSON.stringify(p.Properties.Roles).includes(
          idOf(stack.reconciler.function.role ?? stack.reconciler.function),
        ),
      )
      .flatMap(
        (p) => (p.Properties.PolicyDocument as { Statement: { Action: string | string[] }[] }).Statement,
      );
    const actions = statements.flatMap((st) => [st.Action].flat());
    expect(actions).toEqual(expect.arrayContaining(["states:DescribeExecution", "states:StartExecution"]));
  });
});

describe("monitoring", () => {
  const alarms = () => resourcesOf("AWS::CloudWatch::Alarm");
  /** The metrics an alarm watches: its own, or those of its math expression. */
  const metricsOf = (alarm: Resource) => {
    const p = alarm.Properties as {
      MetricName?: string;
      Namespace?: string;
      Dimensions?: Json;
      Metrics?: { MetricStat?: { Metric: { MetricName: string; Namespace: string; Dimensions?: Json } } }[];
    };
    if (p.MetricName) return [{ MetricName: p.MetricName, Namespace: p.Namespace, Dimensions: p.Dimensions }];
    return (p.Metrics ?? []).flatMap((m) => (m.MetricStat ? [m.MetricStat.Metric] : []));
  };

  it("sends every alarm, and its return to OK, to the alarm topic, whose ARN is an output", () => {
    const [topicId] = only(resourcesOf("AWS::SNS::Topic"));
    expect(topicId).toBe(idOf(stack.monitoring.alarmTopic));
    expect(Object.keys(alarms()).length).toBeGreaterThanOrEqual(10);
    for (const alarm of Object.values(alarms())) {
      expect(alarm.Properties.AlarmActions).toEqual([{ Ref: topicId }]);
      expect(alarm.Properties.OKActions).toEqual([{ Ref: topicId }]);
      expect(String(alarm.Properties.AlarmDescription).length).toBeGreaterThan(80);
    }
    const outputs = template.toJSON().Outputs as Record<string, { Value: Json }>;
    expect(outputs.AlarmTopicArn?.Value).toEqual({ Ref: topicId });
  });

  it("lets only TLS connections publish to the topic, and subscribes no one by default", () => {
    const [topicId] = only(resourcesOf("AWS::SNS::Topic"));
    template.hasResourceProperties("AWS::SNS::TopicPolicy", {
      Topics: [{ Ref: topicId }],
      PolicyDocument: {
        Statement: [
          Match.objectLike({
            Effect: "Deny",
            Action: "sns:Publish",
            Condition: { Bool: { "aws:SecureTransport": "false" } },
          }),
        ],
      },
    });
    template.resourceCountIs("AWS::SNS::Subscription", 0);
  });

  it("alarms on the API's 5xx answers (its Function URL)", () => {
    const fiveXx = Object.values(alarms()).filter((a) =>
      metricsOf(a).some((m) => m.MetricName === "Url5xxCount"),
    );
    expect(fiveXx).toHaveLength(1);
    expect(metricsOf(fiveXx[0] as Resource)).toEqual([
      {
        Namespace: "AWS/Lambda",
        MetricName: "Url5xxCount",
        Dimensions: [{ Name: "FunctionName", Value: { Ref: idOf(stack.api.function) } }],
      },
    ]);
  });

  it("alarms on throttled reads and writes of the table and of each of its indexes", () => {
    const throttles = Object.values(alarms()).filter((a) =>
      metricsOf(a).some((m) => m.Namespace === "AWS/DynamoDB"),
    );
    expect(throttles).toHaveLength(1);
    const watched = metricsOf(throttles[0] as Resource).map((m) => {
      const dims = m.Dimensions as { Name: string; Value: Json }[];
      expect(dims).toContainEqual({ Name: "TableName", Value: { Ref: idOf(stack.tasks.table) } });
      const index = dims.find((d) => d.Name === "GlobalSecondaryIndexName")?.Value ?? "(table)";
      return `${m.MetricName} ${index}`;
    });
    const targets = ["(table)", ...TABLE_SCHEMA.indexes.map((index) => index.name)];
    expect(watched.sort()).toEqual(
      targets.flatMap((t) => [`ReadThrottleEvents ${t}`, `WriteThrottleEvents ${t}`]).sort(),
    );
  });

  it("raises no alarm on a tenant's mistakes: failed executions, the runner's errors, failed tasks", () => {
    const runnerRef = { Ref: idOf(stack.runner.function) };
    for (const alarm of Object.values(alarms())) {
      for (const m of metricsOf(alarm)) {
        expect(m.MetricName).not.toBe("ExecutionsFailed");
        expect(m.MetricName).not.toBe("TasksFailed");
        if (m.MetricName === "Errors") expect(JSON.stringify(m.Dimensions)).not.toContain(runnerRef.Ref);
      }
    }
  });

  it("alarms on the runner's steps that failed with an error of ours, read from its log", () => {
    const [filterId, filter] = only(resourcesOf("AWS::Logs::MetricFilter"));
    expect(filter.Properties.LogGroupName).toEqual({ Ref: idOf(stack.runner.function.logGroup) });
    // Every failed step but those of a tenant's world (PermanentError, TransientError).
    expect(filter.Properties.FilterPattern).toBe(
      `{ ($.message = "${RUNNER_STEP_FAILED_MESSAGE}") && ($.error != "PermanentError") && ($.error != "TransientError") }`,
    );
    const [transform] = filter.Properties.MetricTransformations as {
      MetricName: string;
      MetricNamespace: string;
    }[];
    const watching = Object.values(alarms()).filter((a) =>
      metricsOf(a).some(
        (m) => m.MetricName === transform?.MetricName && m.Namespace === transform?.MetricNamespace,
      ),
    );
    expect(watching, filterId).toHaveLength(1);
    // The message is the one the runner logs when the state machine records a failed step, with
    // the error's name (the state's `error`) as a field of the log line.
    const logging = sourcesUnder("functions", "shared").filter((text) =>
      text.includes(`.error("${RUNNER_STEP_FAILED_MESSAGE}"`),
    );
    expect(logging).toHaveLength(1);
    expect(readFileSync(join(REPO_ROOT, "functions/runner/run-agent-step.ts"), "utf8")).toMatch(
      /error: input\.error,/,
    );
  });

  it("alarms on every task the reconciler had to end, by the metric the reconciler writes", () => {
    const ended = Object.values(alarms()).filter((a) =>
      metricsOf(a).some((m) => m.MetricName === RECONCILER_METRIC.name),
    );
    expect(ended).toHaveLength(1);
    expect(metricsOf(ended[0] as Resource)[0]).toEqual({
      Namespace: "BackgroundAgents",
      MetricName: RECONCILER_METRIC.name,
      Dimensions: [{ Name: "service", Value: RECONCILER_METRIC.service }],
    });
    // Powertools names the `service` dimension after the service the handler gives it.
    const source = readFileSync(join(REPO_ROOT, "functions/reconciler/handler.ts"), "utf8");
    expect(source).toContain(`createPowertools("${RECONCILER_METRIC.service}")`);
    expect(source).toContain(`count("${RECONCILER_METRIC.name}")`);
  });

  it("keeps the alarms on our own faults, and one dashboard", () => {
    const ids = Object.keys(alarms());
    for (const name of [
      "Api5xxAlarm",
      "ApiErrorsAlarm",
      "RunnerStepFailuresAlarm",
      "ReconcilerErrorsAlarm",
      "TasksEndedByReconcilerAlarm",
      "DeadLettersAlarm",
      "ExecutionThrottlesAlarm",
      "ApiThrottlesAlarm",
      "RunnerThrottlesAlarm",
      "ReconcilerThrottlesAlarm",
      "TableThrottlesAlarm",
    ]) {
      expect(ids.filter((id) => id.startsWith(`Monitoring${name}`))).toHaveLength(1);
    }
    // And the webhook dead-letter queue's (test/infra/webhook-delivery.test.ts).
    expect(ids.filter((id) => id.startsWith("WebhookDeliveryDeadLetterAlarm"))).toHaveLength(1);
    expect(ids).toHaveLength(12);
    template.resourceCountIs("AWS::CloudWatch::Dashboard", 1);
  });

  it("refuses an alarm email that is not an address (-c alarmEmail is checked in app.test.ts)", () => {
    expect(() => new BackgroundAgentsStack(testApp(), "Bad", { stage: "b", alarmEmail: "ops@" })).toThrow(
      /Bad: alarmEmail ops@ is not an email address/,
    );
  });
});

describe("cdk-nag (AwsSolutions and Serverless packs)", () => {
  it.each([
    ["AwsSolutions", () => new AwsSolutionsChecks()],
    ["Serverless", () => new ServerlessChecks()],
  ])("%s finds no unacknowledged error", (_name, pack) => {
    // cdk-nag 3 is a policy-validation plugin: findings go to the validation report, not to
    // annotations, so they are collected by running the pack over the construct tree.
    const report = pack().validateScope(app);
    const errors = report.violations
      .filter((v) => v.severity === "error")
      .map((v) => `${v.ruleName} at ${v.violatingResources.map((r) => r.constructPath).join(", ")}`);
    expect(errors).toEqual([]);
  });
});

describe("settings left at their defaults", () => {
  it("make no CloudFront distribution, no bucket and no custom domain output", () => {
    template.resourceCountIs("AWS::CloudFront::Distribution", 0);
    template.resourceCountIs("AWS::S3::Bucket", 0);
    const outputs = Object.keys(template.toJSON().Outputs as Record<string, Json>);
    expect(outputs).not.toContain("CustomDomainUrl");
    expect(outputs).not.toContain("DistributionDomainName");
  });

  it("give the API no default limits: the code's defaults apply", () => {
    const fn = resourcesOf("AWS::Lambda::Function")[idOf(stack.api.function)];
    expect(fn?.Properties.Environment).toMatchObject({ Variables: expect.any(Object) });
    expect(fn?.Properties.Environment).not.toMatchObject({
      Variables: { BGA_DEFAULT_LIMITS: expect.anything() },
    });
  });
});

describe("default limits and a custom domain (stack props)", () => {
  const domainName = "agents.example.com";
  const certificateArn =
    "arn:aws:acm:us-east-1:123456789012:certificate/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";
  let domainApp: App;
  let domainStack: BackgroundAgentsStack;
  let domainTemplate: Template;
  const logicalId = (construct: IConstruct | undefined) => {
    const child = construct?.node.defaultChild;
    if (!(child instanceof CfnElement)) throw new Error(`${construct?.node.path} has no resource`);
    return domainStack.getLogicalId(child);
  };
  const distribution = () => {
    const [, found] = only(
      domainTemplate.findResources("AWS::CloudFront::Distribution") as Record<string, Resource>,
    );
    return found.Properties.DistributionConfig as Record<string, Json>;
  };

  beforeAll(() => {
    domainApp = testApp();
    // The same stack name as the default one: logical IDs are compared below.
    domainStack = new BackgroundAgentsStack(domainApp, "BackgroundAgents-test", {
      stage: "test",
      logRetention: RetentionDays.THREE_MONTHS,
      defaultLimits: { max_running_tasks: 5, retention_days: 7 },
      domainName,
      certificateArn,
    });
    domainTemplate = Template.fromStack(domainStack);
  });

  it("give the API the default limits as JSON, and no other function", () => {
    const functions = domainTemplate.findResources("AWS::Lambda::Function") as Record<string, Resource>;
    for (const [id, fn] of Object.entries(functions)) {
      const env = (fn.Properties.Environment as { Variables: Record<string, Json> }).Variables;
      if (id === logicalId(domainStack.api.function)) {
        expect(JSON.parse(String(env.BGA_DEFAULT_LIMITS))).toEqual({
          max_running_tasks: 5,
          retention_days: 7,
        });
      } else {
        expect(env.BGA_DEFAULT_LIMITS).toBeUndefined();
      }
    }
  });

  it("put a CloudFront distribution with the domain and its certificate in front of the Function URL", () => {
    const config = distribution();
    expect(config.Aliases).toEqual([domainName]);
    expect(config.ViewerCertificate).toEqual({
      AcmCertificateArn: certificateArn,
      MinimumProtocolVersion: "TLSv1.2_2021",
      SslSupportMethod: "sni-only",
    });
    expect(config.HttpVersion).toBe("http2and3");
    const origins = config.Origins as Json[];
    expect(origins).toHaveLength(1);
    expect(origins[0]).toMatchObject({
      // The host of the Function URL (https://<id>.lambda-url.<region>.on.aws/).
      DomainName: {
        "Fn::Select": [
          2,
          { "Fn::Split": ["/", { "Fn::GetAtt": [logicalId(domainStack.api.url), "FunctionUrl"] }] },
        ],
      },
      CustomOriginConfig: {
        OriginProtocolPolicy: "https-only",
        OriginSSLProtocols: ["TLSv1.2"],
        OriginReadTimeout: 120,
      },
    });
  });

  it("caches nothing and passes every method and every viewer header but Host to the app", () => {
    expect(distribution().DefaultCacheBehavior).toMatchObject({
      ViewerProtocolPolicy: "https-only",
      CachePolicyId: CachePolicy.CACHING_DISABLED.cachePolicyId,
      // Authorization, X-Caller-Agent, Idempotency-Key, Last-Event-ID, query strings and cookies.
      OriginRequestPolicyId: OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER.originRequestPolicyId,
      // A stream (SSE) is passed on as it comes, never held back to be compressed.
      Compress: false,
    });
    const methods = (distribution().DefaultCacheBehavior as { AllowedMethods: string[] }).AllowedMethods;
    expect([...methods].sort()).toEqual(["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"]);
    expect(distribution().DefaultCacheBehavior).not.toHaveProperty("FunctionAssociations");
    expect(distribution().DefaultCacheBehavior).not.toHaveProperty("LambdaFunctionAssociations");
  });

  it("log requests to a private, TLS-only bucket that expires them with the log retention", () => {
    const [bucketId, bucket] = only(
      domainTemplate.findResources("AWS::S3::Bucket") as Record<string, Resource>,
    );
    expect(distribution().Logging).toEqual({
      Bucket: { "Fn::GetAtt": [bucketId, "RegionalDomainName"] },
      Prefix: "cloudfront/",
    });
    expect(bucket.Properties).toMatchObject({
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      OwnershipControls: { Rules: [{ ObjectOwnership: "BucketOwnerPreferred" }] },
      LifecycleConfiguration: { Rules: [{ ExpirationInDays: 90, Status: "Enabled" }] },
    });
    domainTemplate.hasResourceProperties("AWS::S3::BucketPolicy", {
      Bucket: { Ref: bucketId },
      PolicyDocument: {
        Statement: [
          Match.objectLike({ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } }),
        ],
      },
    });
  });

  it("output the custom domain's URL and the distribution's domain name for the DNS record", () => {
    const outputs = domainTemplate.toJSON().Outputs as Record<string, { Value: Json }>;
    expect(outputs.CustomDomainUrl?.Value).toBe(`https://${domainName}/`);
    expect(outputs.DistributionDomainName?.Value).toEqual({
      "Fn::GetAtt": [logicalId(domainStack.customDomain?.distribution), "DomainName"],
    });
    // The Function URL stays an output (and reachable): the distribution is an addition.
    expect(outputs.ApiUrl).toBeDefined();
  });

  it("keep the logical ID of every resource of the default stack, adding only the custom domain's", () => {
    const before = Object.keys(template.toJSON().Resources as Record<string, Json>);
    const after = Object.keys(domainTemplate.toJSON().Resources as Record<string, Json>);
    expect(after).toEqual(expect.arrayContaining(before));
    const added = after.filter((id) => !before.includes(id));
    expect(added.length).toBeGreaterThan(0);
    for (const id of added) expect(id).toMatch(/^CustomDomain/);
  });

  it.each([
    ["AwsSolutions", () => new AwsSolutionsChecks()],
    ["Serverless", () => new ServerlessChecks()],
  ])("leave cdk-nag's %s pack with no unacknowledged finding", (_name, pack) => {
    const report = pack().validateScope(domainApp);
    const findings = report.violations.map(
      (v) => `${v.severity} ${v.ruleName} at ${v.violatingResources.map((r) => r.constructPath).join(", ")}`,
    );
    expect(findings).toEqual([]);
  });

  it("refuse a domain name without a certificate, and a certificate without a domain name", () => {
    expect(() => new BackgroundAgentsStack(testApp(), "A", { stage: "a", domainName })).toThrow(
      /A: domainName and certificateArn go together/,
    );
    expect(() => new BackgroundAgentsStack(testApp(), "B", { stage: "b", certificateArn })).toThrow(
      /B: domainName and certificateArn go together/,
    );
  });
});
