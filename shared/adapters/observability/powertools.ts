import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import type { Logger as LoggerPort, MetricsSink } from "../../ports.js";

export const METRICS_NAMESPACE = "BackgroundAgents";

/** What the logs and the cold-start metric take from a Lambda invocation's context. */
export interface LambdaInvocationContext {
  readonly awsRequestId: string;
  readonly functionName: string;
  readonly functionVersion: string;
  readonly invokedFunctionArn: string;
  readonly memoryLimitInMB: string | number;
}

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
    /**
     * Runs one invocation as Powertools' `injectLambdaContext` and `logMetrics` (with
     * `captureColdStartMetric`) do for handlers without middy or decorators: the invocation's
     * context (request ID, function, cold start) on every log line, a ColdStart metric on the
     * first invocation, and the invocation's metrics published when it ends, even on an error.
     */
    async invocation<T>(context: LambdaInvocationContext | undefined, run: () => Promise<T>): Promise<T> {
      if (context) logger.addContext(context);
      metrics.captureColdStartMetric(context?.functionName);
      try {
        return await run();
      } finally {
        metrics.publishStoredMetrics();
      }
    },
  };
}
