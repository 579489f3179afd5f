import { copyFileSync, existsSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import { AssetHashType, DockerImage, Duration, RemovalPolicy, Validations } from "aws-cdk-lib";
import { Role, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import {
  Architecture,
  Code,
  Function as LambdaFunction,
  ParamsAndSecretsLayerVersion,
  ParamsAndSecretsVersions,
  Runtime,
  Tracing,
} from "aws-cdk-lib/aws-lambda";
import { LogGroup, RetentionDays } from "aws-cdk-lib/aws-logs";
import type { IQueue } from "aws-cdk-lib/aws-sqs";
import type { Construct } from "constructs";
import { buildSync } from "esbuild";
import { LAMBDA_ENTRY_FILE, lambdaBuildOptions, REPO_ROOT } from "./lambda-bundle.js";
import { ConstructPropsError } from "./props-error.js";

export { REPO_ROOT };

/** Where files listed in `files` end up inside the deployed function. */
export const LAMBDA_TASK_ROOT = "/var/task";

/**
 * Names that must never reach a function's environment: provider credentials belong in a
 * tenant's secret, not in the deployment (SPEC §6).
 */
export const FORBIDDEN_ENV_NAME = /OPENAI|ANTHROPIC|API_KEY|SECRET_ACCESS_KEY/i;

/**
 * The AWS Parameters and Secrets Lambda extension, one pinned version for every function that
 * reads a secret at a cold start (shared/adapters/secrets/lambda-extension-secrets.ts).
 */
export function secretsExtension(): ParamsAndSecretsLayerVersion {
  return ParamsAndSecretsLayerVersion.fromVersion(ParamsAndSecretsVersions.V1_0_103, { cacheSize: 10 });
}

export interface NodeFunctionProps {
  /** Handler source, relative to the repository root (exports `handler`). */
  readonly entry: string;
  readonly description: string;
  /** Environment variables; names matching FORBIDDEN_ENV_NAME are refused. @default none */
  readonly environment?: Readonly<Record<string, string>>;
  /** @default Duration.seconds(30) */
  readonly timeout?: Duration;
  /** @default 512 */
  readonly memorySize?: number;
  /** Retention of the function's own log group. @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
  /** What happens to the log group when the stack is deleted. @default RemovalPolicy.RETAIN */
  readonly logRemovalPolicy?: RemovalPolicy;
  /** Files copied next to the bundle: file name in the bundle → absolute source path. @default none */
  readonly files?: Readonly<Record<string, string>>;
  /** Where asynchronous invocations that failed every attempt go. @default none */
  readonly deadLetterQueue?: IQueue;
  /** The Parameters and Secrets extension, for functions that read Secrets Manager. @default none */
  readonly paramsAndSecrets?: ParamsAndSecretsLayerVersion;
}

/**
 * The function's code: `entry` bundled at synth time by the local esbuild, code-split
 * (lambda-bundle.ts), plus `files`. The asset's hash is that of the output, like NodejsFunction's.
 */
function bundledCode(entry: string, files: [string, string][]): Code {
  return Code.fromAsset(REPO_ROOT, {
    assetHashType: AssetHashType.OUTPUT,
    bundling: {
      // Never pulled: local bundling below always bundles or throws (no Docker on these machines).
      image: DockerImage.fromRegistry("public.ecr.aws/sam/build-nodejs24.x"),
      // Part of CDK's cache key of the asset (the `local` function is not): one bundle per entry.
      environment: { BGA_BUNDLE_ENTRY: entry },
      local: {
        tryBundle(outputDir) {
          buildSync(lambdaBuildOptions(entry, outputDir));
          for (const [name, source] of files) copyFileSync(source, join(outputDir, name));
          return true;
        },
      },
    },
  });
}

/**
 * One Lambda function the way this project runs them: Node.js 24 (nodejs24.x) on ARM64, bundled
 * by the local esbuild (never Docker) as minified, code-split ESM with source maps, its own log
 * group with a retention, and its own role that may write only to that log group (no managed
 * policies).
 */
export function createNodeFunction(scope: Construct, id: string, props: NodeFunctionProps): LambdaFunction {
  const where = `${scope.node.path}/${id}`;
  const entry = join(REPO_ROOT, props.entry);
  if (!existsSync(entry)) throw new ConstructPropsError(where, `entry ${props.entry} does not exist`);
  for (const name of Object.keys(props.environment ?? {})) {
    if (FORBIDDEN_ENV_NAME.test(name)) {
      throw new ConstructPropsError(
        where,
        `environment variable ${name} looks like a provider credential; keep credentials in a secret`,
      );
    }
  }
  const files = Object.entries(props.files ?? {});
  for (const [name, source] of files) {
    if (!/^[\w.-]+$/.test(name)) {
      throw new ConstructPropsError(where, `file name ${name} is not a plain name`);
    }
    if (!isAbsolute(source) || !existsSync(source)) {
      throw new ConstructPropsError(where, `file ${source} must be an absolute path that exists`);
    }
  }

  const logGroup = new LogGroup(scope, `${id}Logs`, {
    retention: props.logRetention ?? RetentionDays.ONE_MONTH,
    removalPolicy: props.logRemovalPolicy ?? RemovalPolicy.RETAIN,
  });
  const role = new Role(scope, `${id}Role`, {
    assumedBy: new ServicePrincipal("lambda.amazonaws.com"),
    description: `Execution role of ${where}`,
  });
  logGroup.grantWrite(role);

  const fn = new LambdaFunction(scope, id, {
    code: bundledCode(props.entry, files),
    handler: `${LAMBDA_ENTRY_FILE.replace(/\.mjs$/, "")}.handler`,
    description: props.description,
    runtime: Runtime.NODEJS_24_X,
    architecture: Architecture.ARM_64,
    memorySize: props.memorySize ?? 512,
    timeout: props.timeout ?? Duration.seconds(30),
    role,
    logGroup,
    // X-Ray through Lambda's active tracing: the invocation's own segments (init, invocation,
    // overhead), linked to the state machine's trace. No X-Ray SDK in the bundle, so calls to AWS
    // and the model providers are not subsegments of their own.
    tracing: Tracing.ACTIVE,
    // Stack traces of the minified bundle point into the TypeScript sources.
    environment: {
      NODE_OPTIONS: "--enable-source-maps",
      POWERTOOLS_METRICS_NAMESPACE: "BackgroundAgents",
      ...props.environment,
    },
    ...(props.paramsAndSecrets ? { paramsAndSecrets: props.paramsAndSecrets } : {}),
    ...(props.deadLetterQueue ? { deadLetterQueue: props.deadLetterQueue } : {}),
  });
  for (const id of ["AwsSolutions-L1", "Serverless-LambdaLatestVersion"]) {
    Validations.of(fn).acknowledge({
      id,
      reason:
        "Node.js 24 is the runtime the project targets; a newer one (once aws-cdk-lib knows it) is a deliberate upgrade, not a failed synth",
    });
  }
  if (!props.deadLetterQueue) {
    Validations.of(fn).acknowledge({
      id: "Serverless-LambdaDLQ",
      reason:
        "Invoked synchronously (by Step Functions or the Function URL), where a dead-letter queue never applies; failures surface to the caller",
    });
  }
  // Active tracing adds xray:PutTraceSegments / PutTelemetryRecords, which have no resource-level
  // permissions: the only `*` resource these roles hold (bare `*` grants are refused in nag.ts).
  Validations.of(role).acknowledge({
    id: "AwsSolutions-IAM5[Resource::*]",
    reason: "X-Ray PutTraceSegments and PutTelemetryRecords support only Resource '*'",
  });
  return fn;
}
