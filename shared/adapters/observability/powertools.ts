import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import { Tracer } from "@aws-lambda-powertools/tracer";
import type { StructuredLogger } from "../../logger.js";
import type { MetricsSink } from "../../ports.js";

export const METRICS_NAMESPACE = "BackgroundAgents";

/**
 * Powertools for AWS Lambda in one place: a JSON logger, CloudWatch metrics in EMF, and an
 * X-Ray tracer (active only inside Lambda with tracing on). Made once per cold start.
 */
export function createPowertools(serviceName: string) {
  const logger = new Logger({ serviceName });
  const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName });
  const tracer = new Tracer({ serviceName });
  const sink: MetricsSink = {
    count: (name, value = 1) => metrics.addMetric(name, MetricUnit.Count, value),
    bytes: (name, value) => metrics.addMetric(name, MetricUnit.Bytes, value),
  };
  // The service's own logger interface (message + fields), over the Powertools logger.
  const log: StructuredLogger = {
    debug: (m, f) => (f ? logger.debug(m, f) : logger.debug(m)),
    info: (m, f) => (f ? logger.info(m, f) : logger.info(m)),
    warn: (m, f) => (f ? logger.warn(m, f) : logger.warn(m)),
    error: (m, f) => (f ? logger.error(m, f) : logger.error(m)),
  };
  return {
    logger,
    log,
    metrics,
    tracer,
    sink,
    /** Writes the metrics of this invocation (call once per invocation). */
    flush: () => metrics.publishStoredMetrics(),
  };
}
