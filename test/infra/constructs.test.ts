import { App, Duration, Stack } from "aws-cdk-lib";
import { RetentionDays } from "aws-cdk-lib/aws-logs";
import { Secret } from "aws-cdk-lib/aws-secretsmanager";
import { describe, expect, it } from "vitest";
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
