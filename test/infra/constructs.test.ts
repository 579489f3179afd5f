import { App, Duration, Stack } from "aws-cdk-lib";
import { Table } from "aws-cdk-lib/aws-dynamodb";
import { Function as LambdaFunction } from "aws-cdk-lib/aws-lambda";
import { LogGroup, RetentionDays } from "aws-cdk-lib/aws-logs";
import { Secret } from "aws-cdk-lib/aws-secretsmanager";
import { StateMachine } from "aws-cdk-lib/aws-stepfunctions";
import { describe, expect, it } from "vitest";
import { ApiDistribution } from "../../infra/constructs/api-distribution.js";
import { ApiFunction } from "../../infra/constructs/api-function.js";
import { Monitoring } from "../../infra/constructs/monitoring.js";
import { createNodeFunction } from "../../infra/constructs/node-function.js";
import { RunnerFunction } from "../../infra/constructs/runner-function.js";
import { TaskStateMachine } from "../../infra/constructs/task-state-machine.js";
import { TaskTable } from "../../infra/constructs/task-table.js";
import { stackSettingsFromContext } from "../../infra/stacks/background-agents-stack.js";

function testStack(): Stack {
  return new Stack(new App({ context: { "aws:cdk:bundling-stacks": [] } }), "Test");
}

function runner(stack: Stack, props: { budgetSeconds?: number; timeout?: Duration } = {}): RunnerFunction {
  return new RunnerFunction(stack, "Runner", {
    table: new TaskTable(stack, "Tasks"),
    serviceSecret: new Secret(stack, "ServiceSecret"),
    ...props,
  });
}

describe("stack settings from the CDK context", () => {
  it("default to the dev stage and 30 days of logs, with no agent config (tenants come from the admin API)", () => {
    expect(stackSettingsFromContext(new App())).toEqual({
      stage: "dev",
      logRetentionDays: RetentionDays.ONE_MONTH,
    });
    // An agentConfig left in an older cdk.json is not a setting any more.
    expect(stackSettingsFromContext(new App({ context: { agentConfig: "examples/local.yaml" } }))).toEqual({
      stage: "dev",
      logRetentionDays: RetentionDays.ONE_MONTH,
    });
  });

  it("accept values given on the command line as text", () => {
    const app = new App({ context: { stage: "prod", logRetentionDays: "90" } });
    expect(stackSettingsFromContext(app)).toMatchObject({
      stage: "prod",
      logRetentionDays: RetentionDays.THREE_MONTHS,
    });
  });

  it("refuse a retention CloudWatch does not offer and a stage that cannot name a stack", () => {
    expect(() => stackSettingsFromContext(new App({ context: { logRetentionDays: 45 } }))).toThrow(
      /logRetentionDays: must be a CloudWatch retention/,
    );
    expect(() => stackSettingsFromContext(new App({ context: { stage: "Prod_1" } }))).toThrow(/-c stage:/);
  });

  it("read default limits as JSON text (the command line) or an object (cdk.json), keeping only those given", () => {
    const fromText = new App({ context: { defaultLimits: '{"max_running_tasks":5,"retention_days":7}' } });
    expect(stackSettingsFromContext(fromText).defaultLimits).toEqual({
      max_running_tasks: 5,
      retention_days: 7,
    });
    const fromObject = new App({ context: { defaultLimits: { max_task_seconds: 600 } } });
    expect(stackSettingsFromContext(fromObject).defaultLimits).toEqual({ max_task_seconds: 600 });
    expect(stackSettingsFromContext(new App()).defaultLimits).toBeUndefined();
  });

  it("refuse default limits that are not JSON, not an object, unknown or out of range", () => {
    const settings = (defaultLimits: unknown) => () =>
      stackSettingsFromContext(new App({ context: { defaultLimits } }));
    expect(settings("{max_running_tasks:5}")).toThrow(
      /-c defaultLimits: must be JSON \(quoted for the shell/,
    );
    expect(settings("[5]")).toThrow(/-c defaultLimits: must be a JSON object of limits/);
    expect(settings('{"max_runing_tasks":5}')).toThrow(
      /-c defaultLimits: Unrecognized key: "max_runing_tasks"/,
    );
    expect(settings('{"max_running_tasks":0}')).toThrow(/-c defaultLimits\.max_running_tasks: Too small/);
    expect(settings('{"max_running_tasks":"5"}')).toThrow(
      /-c defaultLimits\.max_running_tasks: Invalid input/,
    );
  });

  it("read an alarm email as an address, refusing anything else", () => {
    const settings = (alarmEmail: unknown) => () =>
      stackSettingsFromContext(new App({ context: { alarmEmail } }));
    expect(settings("ops@example.com")()).toMatchObject({ alarmEmail: "ops@example.com" });
    expect(stackSettingsFromContext(new App()).alarmEmail).toBeUndefined();
    for (const bad of ["ops", "ops@", "@example.com", "ops@example", "ops @example.com", 42]) {
      expect(settings(bad)).toThrow(/-c alarmEmail: must be an email address such as ops@example.com/);
    }
  });

  it("read a custom domain as a hostname and an ACM certificate in us-east-1, both or neither", () => {
    const certificateArn =
      "arn:aws:acm:us-east-1:123456789012:certificate/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";
    const settings = (context: Record<string, string>) => () =>
      stackSettingsFromContext(new App({ context }));
    expect(settings({ domainName: "api.example.com", certificateArn })()).toMatchObject({
      domainName: "api.example.com",
      certificateArn,
    });
    expect(settings({ domainName: "api.example.com" })).toThrow(
      /-c certificateArn: domainName and certificateArn go together/,
    );
    expect(settings({ certificateArn })).toThrow(/-c domainName: domainName and certificateArn go together/);
    for (const domainName of [
      "https://api.example.com",
      "api.example.com/v1",
      "*.example.com",
      "localhost",
    ]) {
      expect(settings({ domainName, certificateArn })).toThrow(/-c domainName: must be a lowercase hostname/);
    }
    expect(
      settings({
        domainName: "api.example.com",
        certificateArn: certificateArn.replace("us-east-1", "eu-west-1"),
      }),
    ).toThrow(/-c certificateArn: must be a certificate in us-east-1/);
    expect(
      settings({ domainName: "api.example.com", certificateArn: "arn:aws:iam::123456789012:role/x" }),
    ).toThrow(/-c certificateArn: must be an ACM certificate ARN/);
  });
});

describe("construct validation", () => {
  it("refuses a runner budget that leaves no time for the model turn in flight", () => {
    expect(() => runner(testStack(), { budgetSeconds: 840, timeout: Duration.minutes(15) })).toThrow(
      /must exceed budgetSeconds \(840\) by at least 120 s/,
    );
  });

  it("refuses a step timeout shorter than the runner's Lambda timeout", () => {
    const stack = testStack();
    const fn = runner(stack);
    expect(() => new TaskStateMachine(stack, "Sm", { runner: fn, stepTimeoutSeconds: 600 })).toThrow(
      /stepTimeoutSeconds \(600\) must be at least the runner's timeout \(900 s\)/,
    );
  });

  it("refuses default limits of the API that no tenant could have", () => {
    const stack = testStack();
    const table = new TaskTable(stack, "Tasks");
    const serviceSecret = new Secret(stack, "ServiceSecret");
    const stateMachine = new TaskStateMachine(stack, "Sm", {
      runner: new RunnerFunction(stack, "Runner", { table, serviceSecret }),
    });
    const adminToken = new Secret(stack, "AdminToken");
    const props = { table, stateMachine, serviceSecret, adminToken };
    expect(() => new ApiFunction(stack, "Api", { ...props, defaultLimits: { max_task_bytes: 1 } })).toThrow(
      /Test\/Api: invalid defaultLimits: max_task_bytes: Too small/,
    );
  });

  it("refuses a custom domain that is not a hostname, or a certificate CloudFront cannot use", () => {
    const stack = testStack();
    const fn = createNodeFunction(stack, "Fn", {
      entry: "functions/reconciler/handler.ts",
      description: "test",
    });
    const url = fn.addFunctionUrl();
    const certificateArn = "arn:aws:acm:us-east-1:123456789012:certificate/abc";
    expect(
      () => new ApiDistribution(stack, "A", { url, domainName: "API.example.com", certificateArn }),
    ).toThrow(/Test\/A: domainName must be a lowercase hostname/);
    expect(
      () =>
        new ApiDistribution(stack, "B", {
          url,
          domainName: "api.example.com",
          certificateArn: "arn:aws:acm:eu-central-1:123456789012:certificate/abc",
        }),
    ).toThrow(/Test\/B: certificateArn must be a certificate in us-east-1/);
  });

  it("refuses monitoring that CloudWatch cannot alarm on, or an alarm email that is no address", () => {
    const stack = testStack();
    const props = {
      stateMachine: StateMachine.fromStateMachineName(stack, "Sm", "tasks"),
      api: LambdaFunction.fromFunctionName(stack, "Api", "api"),
      runner: LambdaFunction.fromFunctionName(stack, "Runner", "runner"),
      runnerLogGroup: LogGroup.fromLogGroupName(stack, "RunnerLogs", "/aws/lambda/runner"),
      reconciler: LambdaFunction.fromFunctionName(stack, "Reconciler", "reconciler"),
      table: Table.fromTableName(stack, "Table", "tasks"),
    };
    expect(
      () => new Monitoring(stack, "A", { ...props, tableIndexNames: ["a", "b", "c", "d", "e"] }),
    ).toThrow(/Test\/A: tableIndexNames: at most 4/);
    expect(() => new Monitoring(stack, "B", { ...props, api5xxThreshold: 0 })).toThrow(
      /Test\/B: api5xxThreshold must be a positive integer/,
    );
    expect(() => new Monitoring(stack, "C", { ...props, alarmEmail: "ops" })).toThrow(
      /Test\/C: alarmEmail ops is not an email address/,
    );
  });

  it("refuses an environment variable that looks like a provider credential", () => {
    expect(() =>
      createNodeFunction(testStack(), "Fn", {
        entry: "functions/reconciler/handler.ts",
        description: "test",
        environment: { OPENAI_API_KEY: "sk-nope" },
      }),
    ).toThrow(/OPENAI_API_KEY looks like a provider credential/);
  });
});
