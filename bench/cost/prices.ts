/**
 * Public list prices, us-east-1, as known to the author (2025); they may change. Check the AWS
 * pricing pages (Lambda, Step Functions, DynamoDB, CloudWatch, Secrets Manager, X-Ray) before
 * relying on them. Free tiers are ignored.
 */
export const PRICES = {
  /** Step Functions Standard, per state transition ($0.025 per 1,000). */
  sfnTransition: 0.025 / 1000,
  /** Lambda Arm (Graviton), per GB-second, first tier; the INIT phase is billed the same way. */
  lambdaArmGbSecond: 0.0000133334,
  /** Lambda, per request ($0.20 per 1M). */
  lambdaRequest: 0.2 / 1_000_000,
  /** DynamoDB on-demand, Standard table class: per write request unit ($0.625 per million). */
  dynamoWru: 0.625 / 1_000_000,
  /** … per read request unit ($0.125 per million). */
  dynamoRru: 0.125 / 1_000_000,
  /** … storage, per GB-month. */
  dynamoStorageGbMonth: 0.25,
  /** … continuous backups (point-in-time recovery), per GB-month of table size. */
  dynamoPitrGbMonth: 0.2,
  /** CloudWatch Logs: ingestion (standard class), per GB. */
  logsIngestGb: 0.5,
  /** CloudWatch Logs: storage, per GB-month (of compressed data; raw bytes are counted here: an upper bound). */
  logsStorageGbMonth: 0.03,
  /** X-Ray: per trace recorded ($5.00 per million). */
  xrayTrace: 5 / 1_000_000,
  /** Secrets Manager: per API call ($0.05 per 10,000). */
  secretsApiCall: 0.05 / 10_000,
  /** Secrets Manager: per secret per month. */
  secretMonth: 0.4,
  /** CloudWatch: per standard-resolution alarm metric per month (a metric-math alarm pays for each metric). */
  alarmMetricMonth: 0.1,
  /** CloudWatch: per dashboard per month. */
  dashboardMonth: 3,
  /** CloudWatch: per custom metric per month (first 10,000), prorated by the hour it is sent. */
  customMetricMonth: 0.3,
  /** KMS: per customer-managed key per month (AWS-managed keys cost nothing per month). */
  kmsKeyMonth: 1,
  /** Fargate Linux/ARM (Graviton), per vCPU-hour ($0.03238), billed per second with a 1-minute minimum. */
  fargateArmVcpuHour: 0.03238,
  /** … per GB-hour of memory ($0.00356). */
  fargateArmGbHour: 0.00356,
  /** A public IPv4 address, per hour (a Fargate task in a public subnet has one while it runs). */
  publicIpv4Hour: 0.005,
  /** Data transfer out to the internet, per GB (first 10 TB/month). */
  dataOutGb: 0.09,
  /** ECR private repository storage, per GB-month. */
  ecrStorageGbMonth: 0.1,
  /** A mid-tier model (an assumption, not measured): per input token ($3 per million). */
  modelInputToken: 3 / 1_000_000,
  /** … per input token read from a prompt cache ($0.30 per million), for a sensitivity line. */
  modelCachedInputToken: 0.3 / 1_000_000,
  /** … per output token ($15 per million). */
  modelOutputToken: 15 / 1_000_000,
} as const;
