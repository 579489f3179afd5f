import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import type { Logger as LoggerPort, MetricsSink } from "../../ports.js";

export const METRICS_NAMESPACE = "BackgroundAgents";

/**
 * Powertools for AWS Lambda in one place: a JSON logger and CloudWatch metrics in EMF. Made once
 * per cold start. No tracer: traces come from Lambda's and Step Functions' own active tracing
 * (infra/constructs/node-function.ts, task-state-machine.ts), without the X-Ray SDK in the bundle.
 */
export function createPowertools(serviceName: string) {
  const logger = new Logger({ serviceName });
  const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName });
  const sink: MetricsSink = {
    count: (name, value = 1) => metrics.addMetric(name, MetricUnit.Count, value),
    bytes: (name, value) => metrics.addMetric(name, MetricUnit.Bytes, value),
  };
  // The Logger port (message + fields), over the Powertools logger.
  const log: LoggerPort = {
    debug: (m, f) => (f ? logger.debug(m, f) : logger.debug(m)),
    info: (m, f) => (f ? logger.info(m, f) : logger.info(m)),
    warn: (m, f) => (f ? logger.warn(m, f) : logger.warn(m)),
    error: (m, f) => (f ? logger.error(m, f) : logger.error(m)),
  };
  return {
    logger,
    log,
    metrics,
    sink,
    /** Writes the metrics of this invocation (call once per invocation). */
    flush: () => metrics.publishStoredMetrics(),
  };
}
