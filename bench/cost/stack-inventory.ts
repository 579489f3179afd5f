/** What the deployed stack creates that costs money, read from the synthesized template (no bundling). */
export interface StackInventory {
  secrets: number;
  /** Σ over alarms of the metrics each watches (a metric-math alarm pays for each of its metrics). */
  alarmMetrics: number;
  alarms: number;
  dashboards: number;
  /** Customer-managed KMS keys. */
  kmsKeys: number;
  logGroups: number;
  /** Retention of the log groups, days (the longest). */
  logRetentionDays: number;
  apiMemoryMb: number;
  runnerMemoryMb: number;
  /** Functions with active X-Ray tracing. */
  tracedFunctions: number;
  pitr: boolean;
  /** The harness task definition's size (SPEC §9): vCPU units and MiB. */
  harnessCpu: number;
  harnessMemoryMiB: number;
}

type Resource = { Type: string; Properties?: Record<string, unknown> };

function alarmMetricCount(alarm: Resource): number {
  const metrics = alarm.Properties?.Metrics;
  if (!Array.isArray(metrics)) return 1;
  return metrics.filter((m) => typeof m === "object" && m !== null && "MetricStat" in m).length;
}

/** The memory of the function whose logical ID starts with `prefix`. */
function memoryOf(resources: [string, Resource][], prefix: string): number {
  const fn = resources.find(([id, r]) => r.Type === "AWS::Lambda::Function" && id.startsWith(prefix));
  const mb = fn?.[1].Properties?.MemorySize;
  if (typeof mb !== "number") throw new Error(`no ${prefix}* function with a MemorySize in the template`);
  return mb;
}

/**
 * Synthesizes the stack (as the infra tests do: bundling skipped) and counts what it creates.
 * aws-cdk-lib is loaded here only, so the other benches do not pay for it.
 */
export async function stackInventory(): Promise<StackInventory> {
  const [{ App }, { Template }, { BackgroundAgentsStack }] = await Promise.all([
    import("aws-cdk-lib"),
    import("aws-cdk-lib/assertions"),
    import("../../infra/stacks/background-agents-stack.js"),
  ]);
  const app = new App({ context: { "aws:cdk:bundling-stacks": [] } });
  const stack = new BackgroundAgentsStack(app, "BackgroundAgents-bench", { stage: "bench" });
  const json = Template.fromStack(stack).toJSON() as { Resources: Record<string, Resource> };
  const resources = Object.entries(json.Resources);
  const ofType = (type: string) => resources.map(([, r]) => r).filter((r) => r.Type === type);
  const retention = ofType("AWS::Logs::LogGroup").map((r) => Number(r.Properties?.RetentionInDays ?? 0));
  const tracing = (r: Resource) => (r.Properties?.TracingConfig as { Mode?: string } | undefined)?.Mode;
  const pitr = ofType("AWS::DynamoDB::Table").some(
    (r) =>
      (r.Properties?.PointInTimeRecoverySpecification as { PointInTimeRecoveryEnabled?: boolean } | undefined)
        ?.PointInTimeRecoveryEnabled,
  );
  const [taskDefinition] = ofType("AWS::ECS::TaskDefinition");
  if (!taskDefinition) throw new Error("no harness task definition in the template");
  return {
    harnessCpu: Number(taskDefinition.Properties?.Cpu),
    harnessMemoryMiB: Number(taskDefinition.Properties?.Memory),
    secrets: ofType("AWS::SecretsManager::Secret").length,
    alarmMetrics: ofType("AWS::CloudWatch::Alarm").reduce((n, a) => n + alarmMetricCount(a), 0),
    alarms: ofType("AWS::CloudWatch::Alarm").length,
    dashboards: ofType("AWS::CloudWatch::Dashboard").length,
    kmsKeys: ofType("AWS::KMS::Key").length,
    logGroups: retention.length,
    logRetentionDays: Math.max(0, ...retention),
    apiMemoryMb: memoryOf(resources, "ApiFunction"),
    runnerMemoryMb: memoryOf(resources, "RunnerFunction"),
    tracedFunctions: ofType("AWS::Lambda::Function").filter((r) => tracing(r) === "Active").length,
    pitr,
  };
}
