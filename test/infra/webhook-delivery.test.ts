import { App, CfnElement } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import type { IConstruct } from "constructs";
import { beforeAll, describe, expect, it } from "vitest";
import { BackgroundAgentsStack } from "../../infra/stacks/background-agents-stack.js";

/**
 * Completion push in the cloud (SPEC §11, issue 14): the delivery path the template holds. The
 * reconciler (execution ends, the sweep) → an SQS queue → the sender function; failed messages →
 * a dead-letter queue → an alarm to the alarm topic.
 */

let stack: BackgroundAgentsStack;
let template: Template;

function idOf(construct: IConstruct | undefined): string {
  const child = construct?.node.defaultChild;
  if (!(child instanceof CfnElement))
    throw new Error(`${construct?.node.path} has no CloudFormation resource`);
  return stack.getLogicalId(child);
}

type Statement = { Action: string | string[]; Resource: unknown };

function statementsOfRole(roleId: string): Statement[] {
  const out: Statement[] = [];
  for (const policy of Object.values(template.findResources("AWS::IAM::Policy"))) {
    const props = policy.Properties as {
      Roles: { Ref: string }[];
      PolicyDocument: { Statement: Statement[] };
    };
    if (props.Roles.some((r) => r.Ref === roleId)) out.push(...props.PolicyDocument.Statement);
  }
  return out;
}

const actions = (s: Statement) => (Array.isArray(s.Action) ? s.Action : [s.Action]);

beforeAll(() => {
  const app = new App({ context: { "aws:cdk:bundling-stacks": [] } });
  stack = new BackgroundAgentsStack(app, "BackgroundAgents-test", { stage: "test" });
  template = Template.fromStack(stack);
});

describe("webhook delivery path", () => {
  it("is a queue, encrypted and TLS-only, that moves a message failed 5 times to its dead-letter queue", () => {
    const dlq = idOf(stack.webhookDelivery.deadLetterQueue);
    template.hasResourceProperties("AWS::SQS::Queue", {
      SqsManagedSseEnabled: true,
      VisibilityTimeout: 360, // six times the sender's 60 s time-out
      RedrivePolicy: { deadLetterTargetArn: { "Fn::GetAtt": [dlq, "Arn"] }, maxReceiveCount: 5 },
    });
    template.hasResourceProperties("AWS::SQS::Queue", {
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 14 * 86_400,
    });
    for (const queue of [stack.webhookDelivery.queue, stack.webhookDelivery.deadLetterQueue]) {
      template.hasResourceProperties("AWS::SQS::QueuePolicy", {
        Queues: [{ Ref: idOf(queue) }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } }),
          ]),
        },
      });
    }
  });

  it("raises an alarm, sent to the alarm topic, on any message in the dead-letter queue", () => {
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      Namespace: "AWS/SQS",
      MetricName: "ApproximateNumberOfMessagesVisible",
      Dimensions: [
        {
          Name: "QueueName",
          Value: { "Fn::GetAtt": [idOf(stack.webhookDelivery.deadLetterQueue), "QueueName"] },
        },
      ],
      Threshold: 1,
      ComparisonOperator: "GreaterThanOrEqualToThreshold",
      AlarmActions: [{ Ref: idOf(stack.monitoring.alarmTopic) }],
      OKActions: [{ Ref: idOf(stack.monitoring.alarmTopic) }],
    });
  });

  it("feeds the sender function from the queue, reporting failed messages one by one", () => {
    template.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
      EventSourceArn: { "Fn::GetAtt": [idOf(stack.webhookDelivery.queue), "Arn"] },
      FunctionName: { Ref: idOf(stack.webhookDelivery.function) },
      BatchSize: 10,
      FunctionResponseTypes: ["ReportBatchItemFailures"],
    });
    template.hasResourceProperties("AWS::Lambda::Function", {
      Handler: Match.stringLikeRegexp("webhook-handler|index"),
      Environment: {
        Variables: Match.objectLike({
          BGA_WEBHOOK_QUEUE_URL: { Ref: idOf(stack.webhookDelivery.queue) },
          BGA_SERVICE_SECRET_ARN: { Ref: idOf(stack.serviceSecret) },
          // The cloud's private-network rule: the guarded fetch refuses private peers.
          BGA_ALLOW_PRIVATE_NETWORK: "false",
          BGA_TABLE_NAME: { Ref: idOf(stack.tasks.table) },
        }),
      },
    });
  });

  it("lets the reconciler (execution ends, the sweep) and the sender itself (retries) send to the queue, and no one else", () => {
    const queueArn = JSON.stringify({ "Fn::GetAtt": [idOf(stack.webhookDelivery.queue), "Arn"] });
    const senders = Object.keys(template.findResources("AWS::IAM::Role"))
      .filter((roleId) =>
        statementsOfRole(roleId).some(
          (s) => actions(s).includes("sqs:SendMessage") && JSON.stringify(s.Resource) === queueArn,
        ),
      )
      .sort();
    expect(senders).toEqual(
      [idOf(stack.reconciler.function.role), idOf(stack.webhookDelivery.function.role)].sort(),
    );
    template.hasResourceProperties("AWS::Lambda::Function", {
      Environment: {
        Variables: Match.objectLike({
          BGA_STATE_MACHINE_ARN: Match.anyValue(),
          BGA_WEBHOOK_QUEUE_URL: { Ref: idOf(stack.webhookDelivery.queue) },
        }),
      },
    });
  });

  it("hears every ended execution, SUCCEEDED included (a runner that finished its task)", () => {
    template.hasResourceProperties("AWS::Events::Rule", {
      EventPattern: Match.objectLike({
        detail: Match.objectLike({ status: ["FAILED", "TIMED_OUT", "ABORTED", "SUCCEEDED"] }),
      }),
      Targets: [Match.objectLike({ Arn: { "Fn::GetAtt": [idOf(stack.reconciler.function), "Arn"] } })],
    });
  });
});
