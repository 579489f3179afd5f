import { Duration } from "aws-cdk-lib";
import { Rule } from "aws-cdk-lib/aws-events";
import { LambdaFunction } from "aws-cdk-lib/aws-events-targets";
import { Role, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import type { Function as NodeFunction } from "aws-cdk-lib/aws-lambda";
import { RetentionDays } from "aws-cdk-lib/aws-logs";
import { Schedule, ScheduleExpression, ScheduleTargetInput } from "aws-cdk-lib/aws-scheduler";
import { LambdaInvoke } from "aws-cdk-lib/aws-scheduler-targets";
import type { Queue } from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { deadLetterQueue } from "./dead-letter-queue.js";
import { acknowledgeGrantWildcards } from "./nag.js";
import { createNodeFunction } from "./node-function.js";
import { ConstructPropsError } from "./props-error.js";
import type { TaskStateMachine } from "./task-state-machine.js";
import type { TaskTable } from "./task-table.js";
import type { WebhookDelivery } from "./webhook-delivery.js";

/** Execution statuses after which a task that is still pending/running can never finish by itself. */
export const RECONCILED_STATUSES = ["FAILED", "TIMED_OUT", "ABORTED"] as const;
/** Every status after which a task has ended: its completion webhook may be due (SPEC §11). */
export const EXECUTION_END_STATUSES = [...RECONCILED_STATUSES, "SUCCEEDED"] as const;

export interface ReconcilerProps {
  readonly table: TaskTable;
  readonly stateMachine: Pick<
    TaskStateMachine,
    "stateMachineArn" | "grantStartExecution" | "grantDescribeExecution"
  >;
  /** How often the sweep looks for tasks stuck open (functions/reconciler). @default 5 minutes */
  readonly sweepInterval?: Duration;
  /** Times EventBridge retries delivering an event to the function. @default 8 */
  readonly retryAttempts?: number;
  /** How long EventBridge keeps trying before the event goes to the dead-letter queue. @default 6 hours */
  readonly maxEventAge?: Duration;
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
  /** The completion webhooks' delivery queue: the reconciler puts ended tasks on it. */
  readonly webhookDelivery: Pick<WebhookDelivery, "grantEnqueue">;
}

/**
 * Ends tasks whose execution ended outside the API: time-outs, failures the state machine
 * could not record itself, executions stopped from the console. An EventBridge rule sends
 * "Step Functions Execution Status Change" events of the task state machine to
 * functions/reconciler/handler.ts; events that could not be delivered, or that the function
 * failed on after its retries, land in a dead-letter queue (an alarm watches it).
 */
export class Reconciler extends Construct {
  readonly function: NodeFunction;
  readonly rule: Rule;
  readonly sweepSchedule: Schedule;
  readonly deadLetterQueue: Queue;

  constructor(scope: Construct, id: string, props: ReconcilerProps) {
    super(scope, id);
    const retryAttempts = props.retryAttempts ?? 8;
    const maxEventAge = props.maxEventAge ?? Duration.hours(6);
    if (!Number.isInteger(retryAttempts) || retryAttempts < 0 || retryAttempts > 185) {
      throw new ConstructPropsError(this.node.path, "retryAttempts must be an integer from 0 to 185");
    }
    if (maxEventAge.toSeconds() < 60 || maxEventAge.toSeconds() > 86_400) {
      throw new ConstructPropsError(this.node.path, "maxEventAge must be between 1 minute and 24 hours");
    }

    this.deadLetterQueue = deadLetterQueue(this, "DeadLetterQueue", "the reconciler");

    this.function = createNodeFunction(this, "Function", {
      entry: "functions/reconciler/handler.ts",
      description: "Background Agents: marks tasks failed when their execution ended outside the API",
      timeout: Duration.seconds(30),
      memorySize: 256,
      logRetention: props.logRetention ?? RetentionDays.ONE_MONTH,
      environment: {
        BGA_TABLE_NAME: props.table.tableName,
        BGA_STATE_MACHINE_ARN: props.stateMachine.stateMachineArn,
      },
      // Events the function failed on after Lambda's own retries: kept for an operator.
      deadLetterQueue: this.deadLetterQueue,
    });
    props.table.grantReadWriteData(this.function);
    // The sweep: is a task's execution still there (DescribeExecution); start a pending task's.
    props.stateMachine.grantDescribeExecution(this.function);
    props.stateMachine.grantStartExecution(this.function);
    // Completion push: an execution's end (any status) puts the task on the delivery queue.
    props.webhookDelivery.grantEnqueue(this.function);

    // Step Functions' status events are best effort, and the API can die between writing a task
    // and starting its execution: a sweep on a schedule ends or restarts tasks stuck open.
    // The schedule's own role, allowed to invoke this function and nothing else.
    const scheduleRole = new Role(this, "SweepScheduleRole", {
      assumedBy: new ServicePrincipal("scheduler.amazonaws.com"),
      description: "EventBridge Scheduler: invokes the reconciler's sweep",
    });
    acknowledgeGrantWildcards(
      scheduleRole,
      this.function.grantInvoke(scheduleRole),
      "Lambda's invoke grant covers the function and its versions (<arn>:*) of this one function only",
    );
    this.sweepSchedule = new Schedule(this, "SweepSchedule", {
      description: "Background Agents: sweep for tasks stuck pending or running (functions/reconciler)",
      schedule: ScheduleExpression.rate(props.sweepInterval ?? Duration.minutes(5)),
      target: new LambdaInvoke(this.function, {
        role: scheduleRole,
        input: ScheduleTargetInput.fromObject({ action: "sweep" }),
        // The next sweep comes soon enough; a failed one is not worth a retry storm.
        retryAttempts: 0,
        deadLetterQueue: this.deadLetterQueue,
      }),
    });

    this.rule = new Rule(this, "ExecutionEndedRule", {
      description:
        "Task executions that ended: failed, timed out or aborted (the task may be left open), or succeeded (its webhook is due)",
      eventPattern: {
        source: ["aws.states"],
        detailType: ["Step Functions Execution Status Change"],
        detail: {
          status: [...EXECUTION_END_STATUSES],
          stateMachineArn: [props.stateMachine.stateMachineArn],
        },
      },
      targets: [
        new LambdaFunction(this.function, {
          retryAttempts,
          maxEventAge,
          deadLetterQueue: this.deadLetterQueue,
        }),
      ],
    });
  }
}
