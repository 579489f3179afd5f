import { Duration, RemovalPolicy, Validations } from "aws-cdk-lib";
import { Alarm, ComparisonOperator, type IAlarmAction, TreatMissingData } from "aws-cdk-lib/aws-cloudwatch";
import type { Function as NodeFunction } from "aws-cdk-lib/aws-lambda";
import { SqsEventSource } from "aws-cdk-lib/aws-lambda-event-sources";
import { RetentionDays } from "aws-cdk-lib/aws-logs";
import type { ISecret } from "aws-cdk-lib/aws-secretsmanager";
import { Queue, QueueEncryption } from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { deadLetterQueue } from "./dead-letter-queue.js";
import { createNodeFunction, secretsExtension } from "./node-function.js";
import { ConstructPropsError } from "./props-error.js";
import type { TaskTable } from "./task-table.js";

export interface WebhookDeliveryProps {
  readonly table: TaskTable;
  /** Decrypts the tenants' webhook signing secrets (read through the Parameters and Secrets extension). */
  readonly serviceSecret: ISecret;
  /** Times a message is received before it goes to the dead-letter queue. @default 5 */
  readonly maxReceiveCount?: number;
  /** The sender's time-out; a delivery's POST is cut at 10 s. @default 60 seconds */
  readonly timeout?: Duration;
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
}

/**
 * Completion push in the cloud (SPEC §11): a queue of task ends to deliver, and the function
 * that delivers them (functions/reconciler/webhook-handler.ts). The reconciler puts a task's end
 * on the queue when its execution ends (and, from its scheduled sweep, deliveries due again); the
 * sender records the delivery in the table, POSTs it signed and, when it fails, sends itself the
 * retry as a delayed message (SQS delays up to 15 minutes; a longer wait is picked up by the
 * sweep from the table). A message the sender fails on for a reason of ours is received again and
 * at last lands in the dead-letter queue, which an alarm watches.
 */
export class WebhookDelivery extends Construct {
  readonly queue: Queue;
  readonly deadLetterQueue: Queue;
  readonly function: NodeFunction;
  /** Any message in the dead-letter queue. */
  readonly deadLetterAlarm: Alarm;

  constructor(scope: Construct, id: string, props: WebhookDeliveryProps) {
    super(scope, id);
    const maxReceiveCount = props.maxReceiveCount ?? 5;
    if (!Number.isInteger(maxReceiveCount) || maxReceiveCount < 1 || maxReceiveCount > 1000) {
      throw new ConstructPropsError(this.node.path, "maxReceiveCount must be an integer from 1 to 1000");
    }
    const timeout = props.timeout ?? Duration.seconds(60);
    // A batch of 10 messages, each up to a 10 s POST and a few table writes.
    if (timeout.toSeconds() < 30 || timeout.toSeconds() > 900) {
      throw new ConstructPropsError(this.node.path, "timeout must be between 30 and 900 seconds");
    }

    this.deadLetterQueue = deadLetterQueue(this, "DeadLetterQueue", "the webhook delivery queue");
    this.queue = new Queue(this, "Queue", {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // As AWS advises for a Lambda event source: six times the function's time-out.
      visibilityTimeout: Duration.seconds(timeout.toSeconds() * 6),
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount },
      removalPolicy: RemovalPolicy.DESTROY,
    });

    this.function = createNodeFunction(this, "Function", {
      entry: "functions/reconciler/webhook-handler.ts",
      description: "Background Agents: delivers signed completion webhooks (Standard Webhooks)",
      timeout,
      memorySize: 256,
      logRetention: props.logRetention ?? RetentionDays.ONE_MONTH,
      paramsAndSecrets: secretsExtension(),
      environment: {
        BGA_TABLE_NAME: props.table.tableName,
        BGA_SERVICE_SECRET_ARN: props.serviceSecret.secretArn,
        BGA_WEBHOOK_QUEUE_URL: this.queue.queueUrl,
        BGA_ALLOW_PRIVATE_NETWORK: "false",
      },
    });
    this.function.addEventSource(
      new SqsEventSource(this.queue, {
        batchSize: 10,
        maxBatchingWindow: Duration.seconds(0),
        // Only the messages that failed are received again, not the whole batch.
        reportBatchItemFailures: true,
      }),
    );
    for (const child of this.function.node.children) {
      if (!child.node.id.startsWith("SqsEventSource:")) continue;
      Validations.of(child).acknowledge({
        id: "Serverless-LambdaEventSourceMappingDestination",
        reason:
          "An SQS event source takes no on-failure destination: failed messages go to the queue's own dead-letter queue (redrive policy), which an alarm watches",
      });
    }
    props.table.grantReadWriteData(this.function);
    props.serviceSecret.grantRead(this.function);
    // Retries are messages it sends itself.
    this.queue.grantSendMessages(this.function);

    this.deadLetterAlarm = new Alarm(this, "DeadLetterAlarm", {
      metric: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5) }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
      alarmDescription:
        "Webhook deliveries the sender failed on for a reason of ours (the table, the service secret, a malformed message), after every retry. A receiver that answers with an error is not one: those deliveries are retried and recorded (bga admin webhook status).",
    });
  }

  /** Lets the reconciler put task ends on the queue. */
  grantEnqueue(fn: NodeFunction): void {
    this.queue.grantSendMessages(fn);
    fn.addEnvironment("BGA_WEBHOOK_QUEUE_URL", this.queue.queueUrl);
  }

  /** Sends the dead-letter alarm (when it fires and when it is OK again) to this action. */
  addAlarmAction(action: IAlarmAction): void {
    this.deadLetterAlarm.addAlarmAction(action);
    this.deadLetterAlarm.addOkAction(action);
  }
}
