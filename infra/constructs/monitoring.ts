import { Duration, Validations } from "aws-cdk-lib";
import {
  Alarm,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  type IMetric,
  MathExpression,
  Metric,
  TextWidget,
  TreatMissingData,
} from "aws-cdk-lib/aws-cloudwatch";
import { SnsAction } from "aws-cdk-lib/aws-cloudwatch-actions";
import type { ITable } from "aws-cdk-lib/aws-dynamodb";
import type { IFunction } from "aws-cdk-lib/aws-lambda";
import { FilterPattern, type ILogGroup, MetricFilter } from "aws-cdk-lib/aws-logs";
import { type ITopic, Topic } from "aws-cdk-lib/aws-sns";
import { EmailSubscription } from "aws-cdk-lib/aws-sns-subscriptions";
import type { IQueue } from "aws-cdk-lib/aws-sqs";
import type { IStateMachine } from "aws-cdk-lib/aws-stepfunctions";
import { Construct } from "constructs";
import * as z from "zod";
import { ConstructPropsError } from "./props-error.js";

/** The namespace of the functions' own metrics (POWERTOOLS_METRICS_NAMESPACE, node-function.ts). */
export const SERVICE_METRICS_NAMESPACE = "BackgroundAgents";

/**
 * What the runner logs (functions/runner/run-agent-step.ts, `action: "fail"`) when a step failed
 * for good and the state machine records the failure; the log line carries the error's name.
 */
export const RUNNER_STEP_FAILED_MESSAGE = "runner step failed for good";

/**
 * The runner's errors that come from a tenant's world, not ours: PermanentError (bad keys, a
 * missing secret, a refused endpoint, an invalid request) and TransientError (the tenant's model
 * provider or MCP server failing on every retry). Every other error name is a fault of ours.
 */
export const TENANT_STEP_ERRORS = ["PermanentError", "TransientError"] as const;

/** The reconciler's metric (functions/reconciler/handler.ts): tasks it had to mark failed. */
export const RECONCILER_METRIC = { service: "bga-reconciler", name: "TasksFailedByReconciler" } as const;

/** An address `-c alarmEmail=` subscribes to the alarm topic. */
export const AlarmEmailSchema = z.email({ error: "must be an email address such as ops@example.com" });

/** CloudWatch lets an alarm's math use at most 10 metrics: a read and a write metric per table/index. */
const MAX_WATCHED_INDEXES = 4;

export interface MonitoringProps {
  readonly stateMachine: IStateMachine;
  /** The API function behind its Function URL: 5xx answers, errors and throttles raise alarms. */
  readonly api: IFunction;
  /** The runner: throttles, and steps that failed for good for a reason of ours, raise alarms. */
  readonly runner: IFunction;
  /** The runner's log group, where it logs each step that failed for good (read by a metric filter). */
  readonly runnerLogGroup: ILogGroup;
  /** The reconciler: its errors and throttles, and every task it had to end, raise alarms. */
  readonly reconciler: IFunction;
  /** Dead-letter queue of reconciler events; any message in it is an alarm. @default not watched */
  readonly deadLetterQueue?: IQueue;
  /** The task table: throttled reads and writes raise an alarm. */
  readonly table: ITable;
  /** The table's global secondary indexes, watched for throttling too (at most 4). @default none */
  readonly tableIndexNames?: readonly string[];
  /** Topic every alarm notifies (when it fires and when it is OK again). @default a new topic */
  readonly alarmTopic?: ITopic;
  /** An email address subscribed to the alarm topic (it must confirm the subscription). @default none */
  readonly alarmEmail?: string;
  /** 5xx answers of the API in one period that raise the alarm. @default 1 */
  readonly api5xxThreshold?: number;
  /** Errors of the API or the reconciler in one period that raise its alarm. @default 1 */
  readonly functionErrorThreshold?: number;
  /** @default Duration.minutes(5) */
  readonly period?: Duration;
}

/**
 * Alarms on our own faults, all sent to one SNS topic, and one dashboard. A tenant's mistakes (a
 * bad provider key, a failing MCP server, a task over its limits) raise no alarm: they fail that
 * tenant's task with an error the tenant sees. So there is no alarm on failed executions or on
 * the runner's errors as such, only on the runner's steps that failed with an error of ours.
 */
export class Monitoring extends Construct {
  readonly alarms: Alarm[] = [];
  /** Where every alarm goes; subscribe people or a pager to it. */
  readonly alarmTopic: ITopic;
  readonly dashboard: Dashboard;
  private readonly action: SnsAction;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const period = props.period ?? Duration.minutes(5);
    for (const [key, value] of [
      ["api5xxThreshold", props.api5xxThreshold],
      ["functionErrorThreshold", props.functionErrorThreshold],
    ] as const) {
      if (value !== undefined && (!Number.isInteger(value) || value < 1)) {
        throw new ConstructPropsError(this.node.path, `${key} must be a positive integer`);
      }
    }
    const indexNames = props.tableIndexNames ?? [];
    if (indexNames.length > MAX_WATCHED_INDEXES) {
      throw new ConstructPropsError(
        this.node.path,
        `tableIndexNames: at most ${MAX_WATCHED_INDEXES} (an alarm's math uses at most 10 metrics)`,
      );
    }
    if (props.alarmEmail !== undefined && !AlarmEmailSchema.safeParse(props.alarmEmail).success) {
      throw new ConstructPropsError(this.node.path, `alarmEmail ${props.alarmEmail} is not an email address`);
    }

    // No encryption at rest: CloudWatch cannot publish to a topic under the AWS managed key
    // (alias/aws/sns), and a notification carries alarm names and metrics, no tenant data.
    this.alarmTopic =
      props.alarmTopic ??
      new Topic(this, "AlarmTopic", { displayName: "Background Agents alarms", enforceSSL: true });
    if (props.alarmEmail !== undefined) {
      const subscription = this.alarmTopic.addSubscription(new EmailSubscription(props.alarmEmail));
      Validations.of(subscription).acknowledge({
        id: "Serverless-SNSRedrivePolicy",
        reason:
          "An email subscription: an undelivered notification is not data to replay, and the alarm's state and history stay in CloudWatch",
      });
    }
    this.action = new SnsAction(this.alarmTopic);

    const { api, runner, reconciler, stateMachine: sm, table } = props;
    const errorThreshold = props.functionErrorThreshold ?? 1;

    // ---- the API ----
    const api5xx = api.metric("Url5xxCount", { period, statistic: "Sum", label: "API 5xx answers" });
    this.alarm("Api5xxAlarm", api5xx, props.api5xxThreshold ?? 1, [
      "The API's Function URL answered with 5xx: the app failed (500 internal_error; 503 when it",
      "cannot read its settings or Step Functions refuses an execution), timed out or crashed.",
      "A tenant's mistakes are answered with 4xx and raise no alarm.",
      "Look at the API function's logs (level ERROR) for the request IDs and causes.",
    ]);
    this.alarm("ApiErrorsAlarm", api.metricErrors({ period }), errorThreshold, [
      "The API function failed invocations (an unhandled error, a timeout or a crash), including",
      "streams (SSE) that broke after their status line, which no 5xx counts.",
      "Look at the API function's logs for the error and the request ID.",
    ]);

    // ---- the runner ----
    const stepFailuresFilter = new MetricFilter(this, "RunnerStepFailuresFilter", {
      logGroup: props.runnerLogGroup,
      filterPattern: FilterPattern.all(
        FilterPattern.stringValue("$.message", "=", RUNNER_STEP_FAILED_MESSAGE),
        ...TENANT_STEP_ERRORS.map((name) => FilterPattern.stringValue("$.error", "!=", name)),
      ),
      metricNamespace: SERVICE_METRICS_NAMESPACE,
      metricName: "RunnerStepFailuresOfOurs",
      metricValue: "1",
    });
    const stepFailures = stepFailuresFilter.metric({
      period,
      statistic: "Sum",
      label: "Runner steps failed by an error of ours",
    });
    this.alarm("RunnerStepFailuresAlarm", stepFailures, 1, [
      "A task failed because its runner step failed with an error of ours (not a tenant's",
      "PermanentError or TransientError): a bug, a DynamoDB or Lambda fault, the step time-out,",
      `out of memory. Search the runner's logs for "${RUNNER_STEP_FAILED_MESSAGE}": the error`,
      "and cause are there, with the task ID; the execution's history shows the failed step.",
    ]);

    // ---- the reconciler and the executions it ends ----
    this.alarm("ReconcilerErrorsAlarm", reconciler.metricErrors({ period }), errorThreshold, [
      "The reconciler failed on an execution status event; EventBridge retries it, then leaves",
      "it in the dead-letter queue. A task may stay running although its execution ended.",
      "Look at the reconciler's logs for the error.",
    ]);
    const tasksEnded = new Metric({
      namespace: SERVICE_METRICS_NAMESPACE,
      metricName: RECONCILER_METRIC.name,
      dimensionsMap: { service: RECONCILER_METRIC.service },
      period,
      statistic: "Sum",
      label: "Tasks the reconciler marked failed",
    });
    this.alarm("TasksEndedByReconcilerAlarm", tasksEnded, 1, [
      "A task's execution ended without the state machine recording it: it timed out (the",
      "runner should have ended the task at its max_task_seconds), recording the failure itself",
      "failed, or someone stopped the execution in the console. The reconciler marked the task",
      "failed. Its log line (task failed because its execution ended) names the task and the",
      "execution's error; the execution's history shows where it stopped.",
    ]);
    const deadLetters = props.deadLetterQueue?.metricApproximateNumberOfMessagesVisible({ period });
    if (deadLetters) {
      this.alarm("DeadLettersAlarm", deadLetters, 1, [
        "Execution status events the reconciler could not handle are waiting in its dead-letter",
        "queue: the tasks of those executions may still show running. Fix the cause (the",
        "reconciler's logs), then read the messages (each names an execution, so a task) and",
        "end those tasks; purge the queue when done.",
      ]);
    }

    // ---- capacity: throttling anywhere is ours to raise or spread ----
    this.alarm("ExecutionThrottlesAlarm", sm.metricThrottled({ period }), 1, [
      "Step Functions throttled state transitions of task executions: tasks run late.",
      "Check the account's Step Functions quotas (StateTransition) and ask for more.",
    ]);
    for (const [name, fn, effect] of [
      ["Api", api, "the Function URL answers 429 Too Many Requests"],
      ["Runner", runner, "Step Functions retries the step (Lambda.TooManyRequestsException), later"],
      ["Reconciler", reconciler, "EventBridge retries the event, later"],
    ] as const) {
      this.alarm(`${name}ThrottlesAlarm`, fn.metricThrottles({ period }), 1, [
        `Lambda throttled the ${name} function (${effect}): the account's concurrency is used up.`,
        "Look at ConcurrentExecutions; ask for a higher Lambda concurrency quota.",
      ]);
    }
    const throttleMetrics: Record<string, IMetric> = {};
    for (const [i, index] of [undefined, ...indexNames].entries()) {
      for (const kind of ["Read", "Write"] as const) {
        throttleMetrics[`${kind.toLowerCase()}${i}`] = new Metric({
          namespace: "AWS/DynamoDB",
          metricName: `${kind}ThrottleEvents`,
          dimensionsMap: {
            TableName: table.tableName,
            ...(index === undefined ? {} : { GlobalSecondaryIndexName: index }),
          },
          period,
          statistic: "Sum",
        });
      }
    }
    const tableThrottles = new MathExpression({
      expression: Object.keys(throttleMetrics)
        .map((key) => `FILL(${key}, 0)`)
        .join(" + "),
      usingMetrics: throttleMetrics,
      label: "Throttled reads + writes (table and indexes)",
      period,
    });
    this.alarm("TableThrottlesAlarm", tableThrottles, 1, [
      "DynamoDB throttled reads or writes of the task table or its indexes (on-demand: a hot",
      "partition, or the table's or account's throughput limit). The SDK retries, but requests",
      "slow down and may fail. Look at the table's throttle metrics by operation and index.",
    ]);

    this.dashboard = new Dashboard(this, "Dashboard", { defaultInterval: Duration.hours(3) });
    this.dashboard.addWidgets(
      new TextWidget({
        markdown:
          "# Background Agents\nOne Step Functions execution per task; API, runner and reconciler Lambdas.",
        width: 24,
        height: 2,
      }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: "Executions",
        width: 12,
        left: [
          sm.metricStarted({ period }),
          sm.metricSucceeded({ period }),
          sm.metricFailed({ period }),
          sm.metricTimedOut({ period }),
          sm.metricAborted({ period }),
        ],
      }),
      new GraphWidget({
        title: "Execution time",
        width: 12,
        left: [sm.metricTime({ period, statistic: "p50" }), sm.metricTime({ period, statistic: "p99" })],
      }),
    );
    const fns = [
      ["Api", api],
      ["Runner", runner],
      ["Reconciler", reconciler],
    ] as const;
    this.dashboard.addWidgets(
      new GraphWidget({
        title: "Invocations",
        width: 8,
        left: fns.map(([name, fn]) => fn.metricInvocations({ period, label: name })),
      }),
      new GraphWidget({
        title: "Errors and throttles",
        width: 8,
        left: fns.map(([name, fn]) => fn.metricErrors({ period, label: `${name} errors` })),
        right: fns.map(([name, fn]) => fn.metricThrottles({ period, label: `${name} throttles` })),
      }),
      new GraphWidget({
        title: "Duration p99",
        width: 8,
        left: fns.map(([name, fn]) => fn.metricDuration({ period, statistic: "p99", label: name })),
      }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: "API answers",
        width: 8,
        left: [
          api.metric("UrlRequestCount", { period, statistic: "Sum", label: "requests" }),
          api.metric("Url4xxCount", { period, statistic: "Sum", label: "4xx" }),
          api5xx,
        ],
      }),
      new GraphWidget({
        title: "Failures of ours",
        width: 8,
        left: [stepFailures, tasksEnded, ...(deadLetters ? [deadLetters] : [])],
      }),
      new GraphWidget({ title: "Table throttling", width: 8, left: [tableThrottles] }),
    );
  }

  private alarm(id: string, metric: IMetric, threshold: number, description: string[]): Alarm {
    const alarm = new Alarm(this, id, {
      metric,
      threshold,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
      alarmDescription: description.join(" "),
    });
    alarm.addAlarmAction(this.action);
    alarm.addOkAction(this.action);
    this.alarms.push(alarm);
    return alarm;
  }
}
