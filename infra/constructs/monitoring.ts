import { Duration } from "aws-cdk-lib";
import {
  Alarm,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  type IMetric,
  MathExpression,
  TextWidget,
  TreatMissingData,
} from "aws-cdk-lib/aws-cloudwatch";
import { SnsAction } from "aws-cdk-lib/aws-cloudwatch-actions";
import type { IFunction } from "aws-cdk-lib/aws-lambda";
import type { ITopic } from "aws-cdk-lib/aws-sns";
import type { IQueue } from "aws-cdk-lib/aws-sqs";
import type { IStateMachine } from "aws-cdk-lib/aws-stepfunctions";
import { Construct } from "constructs";
import { ConstructPropsError } from "./props-error.js";

export interface MonitoringProps {
  readonly stateMachine: IStateMachine;
  /** The functions to watch, by a short name used in alarm and widget IDs (e.g. `Api`). */
  readonly functions: Readonly<Record<string, IFunction>>;
  /** Dead-letter queue of reconciler events; any message in it is an alarm. @default not watched */
  readonly deadLetterQueue?: IQueue;
  /** Topic every alarm notifies. @default alarms without actions */
  readonly alarmTopic?: ITopic;
  /** Failed plus timed-out executions in one period that raise the alarm. @default 1 */
  readonly executionFailureThreshold?: number;
  /** Errors of one function in one period that raise its alarm. @default 1 */
  readonly functionErrorThreshold?: number;
  /** @default Duration.minutes(5) */
  readonly period?: Duration;
}

/** Alarms (execution failures, function errors and throttles, dead letters) and one dashboard. */
export class Monitoring extends Construct {
  readonly alarms: Alarm[] = [];
  readonly dashboard: Dashboard;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const period = props.period ?? Duration.minutes(5);
    const names = Object.keys(props.functions);
    if (names.length === 0)
      throw new ConstructPropsError(this.node.path, "functions must name at least one function");
    for (const name of names) {
      if (!/^[A-Z][A-Za-z0-9]*$/.test(name)) {
        throw new ConstructPropsError(
          this.node.path,
          `function name ${name} must be PascalCase letters and digits`,
        );
      }
    }
    for (const [key, value] of [
      ["executionFailureThreshold", props.executionFailureThreshold],
      ["functionErrorThreshold", props.functionErrorThreshold],
    ] as const) {
      if (value !== undefined && (!Number.isInteger(value) || value < 1)) {
        throw new ConstructPropsError(this.node.path, `${key} must be a positive integer`);
      }
    }

    const sm = props.stateMachine;
    const executionFailures = new MathExpression({
      expression: "FILL(failed, 0) + FILL(timedOut, 0)",
      usingMetrics: { failed: sm.metricFailed({ period }), timedOut: sm.metricTimedOut({ period }) },
      label: "Failed + timed-out executions",
      period,
    });
    this.alarm("ExecutionFailuresAlarm", executionFailures, props.executionFailureThreshold ?? 1, {
      description: "Task executions failed or timed out",
      topic: props.alarmTopic,
    });
    this.alarm("ExecutionThrottlesAlarm", sm.metricThrottled({ period }), 1, {
      description: "Step Functions throttled task executions",
      topic: props.alarmTopic,
    });

    for (const [name, fn] of Object.entries(props.functions)) {
      this.alarm(`${name}ErrorsAlarm`, fn.metricErrors({ period }), props.functionErrorThreshold ?? 1, {
        description: `The ${name} function reported errors`,
        topic: props.alarmTopic,
      });
      this.alarm(`${name}ThrottlesAlarm`, fn.metricThrottles({ period }), 1, {
        description: `The ${name} function was throttled`,
        topic: props.alarmTopic,
      });
    }

    const deadLetters = props.deadLetterQueue?.metricApproximateNumberOfMessagesVisible({ period });
    if (deadLetters) {
      this.alarm("DeadLettersAlarm", deadLetters, 1, {
        description:
          "Execution status events the reconciler could not handle are waiting in its dead-letter queue",
        topic: props.alarmTopic,
      });
    }

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
    const fns = Object.entries(props.functions);
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
    if (deadLetters) {
      this.dashboard.addWidgets(
        new GraphWidget({ title: "Reconciler dead letters", width: 8, left: [deadLetters] }),
      );
    }
  }

  private alarm(
    id: string,
    metric: IMetric,
    threshold: number,
    options: { description: string; topic: ITopic | undefined },
  ): Alarm {
    const alarm = new Alarm(this, id, {
      metric,
      threshold,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
      alarmDescription: options.description,
    });
    if (options.topic) alarm.addAlarmAction(new SnsAction(options.topic));
    this.alarms.push(alarm);
    return alarm;
  }
}
