import { DEFAULT_LIMITS } from "../../shared/tenants.js";
import { sumOf, tallyByOperation } from "../capacity.js";
import { PRICES } from "./prices.js";
import type { TaskRun } from "./run-task.js";
import type { StackInventory } from "./stack-inventory.js";
import { modelTokens } from "./typical-task.js";

/** Stated assumptions of the cost model (what the local run cannot measure). */
export const ASSUMPTIONS = {
  /** Share of invocations that start a cold instance (Lambda bills INIT for on-demand functions since Aug 2025). */
  coldStartShare: 0.1,
  /** Lambda Init Duration of the API and the runner on arm64 with the secrets extension, ms. */
  apiInitMs: 400,
  runnerInitMs: 400,
  /** Secrets read at a cold start (through the extension, which caches them): API 2, runner 1. */
  apiSecretsPerColdStart: 2,
  runnerSecretsPerColdStart: 1,
  /** Per Lambda invocation: START, END and REPORT lines (with the X-Ray trace ID), and one EMF metrics document. */
  logBytesPerInvocation: 450 + 600,
  /** What a Powertools log line adds to the local logger's (function name, ARN, memory, request ID, trace ID, cold start). */
  logBytesPerLineExtra: 250,
  /** One Step Functions execution-history event logged at level ALL without execution data. */
  logBytesPerSfnEvent: 350,
  /** Custom metrics: 10 names × the service dimension across the API (3), runner (10) and reconciler (1). */
  customMetrics: 14,
} as const;

/** One priced quantity. */
export interface Line {
  item: string;
  quantity: number;
  unit: string;
  price: number;
  priceLabel: string;
}

export const cost = (l: Line) => l.quantity * l.price;
export const total = (lines: Line[]) => lines.reduce((n, l) => n + cost(l), 0);
const DAYS_PER_MONTH = 30.4;
const GB = 1024 ** 3;
const billedMs = (ms: number) => Math.max(1, Math.ceil(ms));

function lambdaLines(run: TaskRun, stack: StackInventory, coldShare: number): Line[] {
  const a = ASSUMPTIONS;
  const apiMs = billedMs(run.api.run) + billedMs(run.api.wait) + billedMs(run.api.view);
  const runnerMs = run.execution.invocations.reduce((n, ms) => n + billedMs(ms), 0);
  const [apiGb, runnerGb] = [stack.apiMemoryMb / 1024, stack.runnerMemoryMb / 1024];
  const initGbS =
    (coldShare * (3 * a.apiInitMs * apiGb + run.execution.invocations.length * a.runnerInitMs * runnerGb)) /
    1000;
  const gbS = { price: PRICES.lambdaArmGbSecond, unit: "GB-s", priceLabel: "$0.0000133334 / GB-s" };
  return [
    {
      item: "Lambda requests: API (run, wait, view) + runner",
      quantity: 3 + run.execution.invocations.length,
      unit: "requests",
      price: PRICES.lambdaRequest,
      priceLabel: "$0.20 / 1M",
    },
    {
      item: `Lambda runner duration (${stack.runnerMemoryMb} MB)`,
      quantity: (runnerMs / 1000) * runnerGb,
      ...gbS,
    },
    {
      item: `Lambda API duration (${stack.apiMemoryMb} MB; wait lasts the task)`,
      quantity: (apiMs / 1000) * apiGb,
      ...gbS,
    },
    { item: `Lambda INIT: ${100 * coldShare} % of invocations cold`, quantity: initGbS, ...gbS },
  ];
}

function dynamoLines(run: TaskRun, stored: { bytes: number; items: number }, stack: StackInventory): Line[] {
  const byOp = tallyByOperation(run.requests);
  const gbMonths = (stored.bytes / GB) * (DEFAULT_LIMITS.retention_days / DAYS_PER_MONTH);
  const storage = `${stored.items} items + index entries × ${DEFAULT_LIMITS.retention_days} days`;
  return [
    {
      item: "DynamoDB write request units (consumed)",
      quantity: sumOf(byOp, "write", (t) => t.units),
      unit: "WRU",
      price: PRICES.dynamoWru,
      priceLabel: "$0.625 / 1M",
    },
    {
      item: "DynamoDB read request units (consumed)",
      quantity: sumOf(byOp, "read", (t) => t.units),
      unit: "RRU",
      price: PRICES.dynamoRru,
      priceLabel: "$0.125 / 1M",
    },
    {
      item: `DynamoDB storage, ${storage}`,
      quantity: gbMonths,
      unit: "GB-month",
      price: PRICES.dynamoStorageGbMonth,
      priceLabel: "$0.25 / GB-month",
    },
    {
      item: "DynamoDB point-in-time recovery, same size",
      quantity: stack.pitr ? gbMonths : 0,
      unit: "GB-month",
      price: PRICES.dynamoPitrGbMonth,
      priceLabel: "$0.20 / GB-month",
    },
  ];
}

/** Log bytes of one task: the service's own lines, each invocation's platform lines and metrics, the execution's events. */
export function logBytes(run: TaskRun): number {
  const a = ASSUMPTIONS;
  const invocations = 3 + run.execution.invocations.length;
  return (
    run.log.bytes +
    run.log.lines * a.logBytesPerLineExtra +
    invocations * a.logBytesPerInvocation +
    run.execution.events * a.logBytesPerSfnEvent
  );
}

function sfnLine(run: TaskRun): Line {
  const quantity = run.execution.entered.length;
  return {
    item: "Step Functions Standard state transitions",
    quantity,
    unit: "transitions",
    price: PRICES.sfnTransition,
    priceLabel: "$0.025 / 1k",
  };
}

function observabilityLines(run: TaskRun, stack: StackInventory, coldShare: number): Line[] {
  const a = ASSUMPTIONS;
  const gb = logBytes(run) / GB;
  const secretCalls =
    coldShare *
    (3 * a.apiSecretsPerColdStart + run.execution.invocations.length * a.runnerSecretsPerColdStart);
  return [
    {
      item: "CloudWatch Logs ingestion",
      quantity: gb,
      unit: "GB",
      price: PRICES.logsIngestGb,
      priceLabel: "$0.50 / GB",
    },
    {
      item: `CloudWatch Logs storage, ${stack.logRetentionDays} days`,
      quantity: gb * (stack.logRetentionDays / DAYS_PER_MONTH),
      unit: "GB-month",
      price: PRICES.logsStorageGbMonth,
      priceLabel: "$0.03 / GB-month",
    },
    {
      item: "X-Ray traces (every request sampled: an upper bound)",
      quantity: stack.tracedFunctions > 0 ? 4 : 0,
      unit: "traces",
      price: PRICES.xrayTrace,
      priceLabel: "$5 / 1M",
    },
    {
      item: "Secrets Manager API calls at cold starts",
      quantity: secretCalls,
      unit: "calls",
      price: PRICES.secretsApiCall,
      priceLabel: "$0.05 / 10k",
    },
  ];
}

/** The infrastructure cost lines of one task. */
export function perTaskLines(
  run: TaskRun,
  stored: { bytes: number; items: number },
  stack: StackInventory,
  coldShare: number = ASSUMPTIONS.coldStartShare,
): Line[] {
  return [
    sfnLine(run),
    ...lambdaLines(run, stack, coldShare),
    ...dynamoLines(run, stored, stack),
    ...observabilityLines(run, stack, coldShare),
  ];
}

/** The model-token cost lines of the task; with `cached`, earlier context is read from a prompt cache. */
export function modelLines(outputBytes: number, cached = false): Line[] {
  const tokens = modelTokens(outputBytes);
  const fresh = cached ? tokens.input - tokens.cached : tokens.input;
  return [
    {
      item: "Model input tokens",
      quantity: fresh,
      unit: "tokens",
      price: PRICES.modelInputToken,
      priceLabel: "$3 / 1M",
    },
    ...(cached
      ? [
          {
            item: "Model input tokens read from cache",
            quantity: tokens.cached,
            unit: "tokens",
            price: PRICES.modelCachedInputToken,
            priceLabel: "$0.30 / 1M",
          },
        ]
      : []),
    {
      item: "Model output tokens",
      quantity: tokens.output,
      unit: "tokens",
      price: PRICES.modelOutputToken,
      priceLabel: "$15 / 1M",
    },
  ];
}

/** What the stack costs each month whatever the tasks (free tiers ignored). */
export function monthlyLines(stack: StackInventory): Line[] {
  return [
    {
      item: "Secrets Manager secrets",
      quantity: stack.secrets,
      unit: "secrets",
      price: PRICES.secretMonth,
      priceLabel: "$0.40 / month",
    },
    {
      item: `CloudWatch alarms (${stack.alarms}, metrics watched)`,
      quantity: stack.alarmMetrics,
      unit: "alarm metrics",
      price: PRICES.alarmMetricMonth,
      priceLabel: "$0.10 / month",
    },
    {
      item: "CloudWatch dashboard",
      quantity: stack.dashboards,
      unit: "dashboards",
      price: PRICES.dashboardMonth,
      priceLabel: "$3 / month",
    },
    {
      item: "CloudWatch custom metrics (EMF; prorated by the hour sent)",
      quantity: ASSUMPTIONS.customMetrics,
      unit: "metrics",
      price: PRICES.customMetricMonth,
      priceLabel: "$0.30 / month",
    },
    {
      item: "KMS customer-managed keys",
      quantity: stack.kmsKeys,
      unit: "keys",
      price: PRICES.kmsKeyMonth,
      priceLabel: "$1 / month",
    },
  ];
}
