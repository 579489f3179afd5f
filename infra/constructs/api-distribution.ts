import { Duration, RemovalPolicy, Token, Validations } from "aws-cdk-lib";
import { Certificate } from "aws-cdk-lib/aws-certificatemanager";
import {
  AllowedMethods,
  CachePolicy,
  Distribution,
  HttpVersion,
  OriginRequestPolicy,
  SecurityPolicyProtocol,
  ViewerProtocolPolicy,
} from "aws-cdk-lib/aws-cloudfront";
import { FunctionUrlOrigin } from "aws-cdk-lib/aws-cloudfront-origins";
import type { IFunctionUrl } from "aws-cdk-lib/aws-lambda";
import { RetentionDays } from "aws-cdk-lib/aws-logs";
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectOwnership } from "aws-cdk-lib/aws-s3";
import { Construct } from "constructs";
import * as z from "zod";
import { ConstructPropsError } from "./props-error.js";

/** CloudFront takes viewer certificates from ACM in this region only. */
export const CLOUDFRONT_CERTIFICATE_REGION = "us-east-1";

/** One hostname (no scheme, port, path or wildcard), lowercase, at most 253 characters. */
export const DomainNameSchema = z
  .string()
  .max(253, "must be at most 253 characters")
  .regex(
    /^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?$/,
    "must be a lowercase hostname such as api.example.com (no scheme, port, path or wildcard)",
  );

/** An ACM certificate ARN in us-east-1. */
export const CertificateArnSchema = z
  .string()
  .regex(/^arn:aws:acm:[a-z0-9-]+:\d{12}:certificate\/[A-Za-z0-9-]+$/, {
    message: "must be an ACM certificate ARN: arn:aws:acm:us-east-1:<account>:certificate/<id>",
    abort: true,
  })
  .refine(
    (arn) => arn.split(":")[3] === CLOUDFRONT_CERTIFICATE_REGION,
    `must be a certificate in ${CLOUDFRONT_CERTIFICATE_REGION}: CloudFront takes certificates from there only`,
  );

export interface ApiDistributionProps {
  /** The API's Function URL (auth NONE: the app checks bearer keys itself), the only origin. */
  readonly url: IFunctionUrl;
  /**
   * The hostname the API is served on, e.g. `api.example.com`. No DNS record is made: point a
   * CNAME (or a Route 53 alias) at `distribution.distributionDomainName`.
   */
  readonly domainName: string;
  /** An ACM certificate in us-east-1 that covers `domainName`. */
  readonly certificateArn: string;
  /**
   * How long CloudFront waits for a response, and for each next part of it: a response silent
   * for longer is cut. @default Duration.seconds(120) (the most CloudFront's default quota allows)
   */
  readonly originReadTimeout?: Duration;
  /** Retention of the access logs in the log bucket. @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
}

/**
 * The API on a custom domain: a CloudFront distribution in front of the Function URL with the
 * domain's certificate. Nothing is cached; every method, query string, cookie and viewer header
 * but Host (which must name the Function URL) reaches the app: Authorization, X-Caller-Agent,
 * Idempotency-Key, Last-Event-ID. Streamed responses (SSE) pass through unbuffered. HTTPS only,
 * TLS 1.2 or later, HTTP/2 and HTTP/3. Access logs go to a bucket of their own.
 */
export class ApiDistribution extends Construct {
  readonly distribution: Distribution;
  readonly logBucket: Bucket;
  /** `https://<domainName>/`. */
  readonly url: string;

  constructor(scope: Construct, id: string, props: ApiDistributionProps) {
    super(scope, id);
    for (const [name, value, schema] of [
      ["domainName", props.domainName, DomainNameSchema],
      ["certificateArn", props.certificateArn, CertificateArnSchema],
    ] as const) {
      if (Token.isUnresolved(value)) continue;
      const parsed = schema.safeParse(value);
      if (!parsed.success) {
        throw new ConstructPropsError(this.node.path, `${name} ${parsed.error.issues[0]?.message}`);
      }
    }
    const readTimeout = props.originReadTimeout ?? Duration.seconds(120);
    const retention = props.logRetention ?? RetentionDays.ONE_MONTH;

    // Standard (legacy) logging: CloudFront writes the log files with an ACL, so ACLs stay on.
    this.logBucket = new Bucket(this, "AccessLogs", {
      encryption: BucketEncryption.S3_MANAGED,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_PREFERRED,
      enforceSSL: true,
      // Kept when the stack is deleted, like the log groups.
      removalPolicy: RemovalPolicy.RETAIN,
      ...(retention === RetentionDays.INFINITE
        ? {}
        : { lifecycleRules: [{ id: "expire-access-logs", expiration: Duration.days(retention) }] }),
    });
    Validations.of(this.logBucket).acknowledge({
      id: "AwsSolutions-S1",
      reason:
        "The bucket holds CloudFront's access logs and only CloudFront writes to it; logging access to it would need another log bucket, and that one another",
    });

    this.distribution = new Distribution(this, "Distribution", {
      comment: `Background Agents API on ${props.domainName}`,
      domainNames: [props.domainName],
      certificate: Certificate.fromCertificateArn(this, "Certificate", props.certificateArn),
      minimumProtocolVersion: SecurityPolicyProtocol.TLS_V1_2_2021,
      httpVersion: HttpVersion.HTTP2_AND_3,
      defaultBehavior: {
        origin: new FunctionUrlOrigin(props.url, { readTimeout }),
        viewerProtocolPolicy: ViewerProtocolPolicy.HTTPS_ONLY,
        allowedMethods: AllowedMethods.ALLOW_ALL,
        cachePolicy: CachePolicy.CACHING_DISABLED,
        originRequestPolicy: OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
        // Compressing would hold back parts of a stream; the app's answers are small or streamed.
        compress: false,
      },
      logBucket: this.logBucket,
      logFilePrefix: "cloudfront/",
    });
    Validations.of(this.distribution).acknowledge({
      id: "AwsSolutions-CFR1",
      reason:
        "Callers are agents of the tenants, wherever those run; every request is authenticated by a bearer key",
    });
    Validations.of(this.distribution).acknowledge({
      id: "AwsSolutions-CFR2",
      reason:
        "No WAF web ACL: the app authenticates every request and bounds each tenant's work by its limits; a CloudFront web ACL would also have to live in us-east-1, outside this stack",
    });
    this.url = `https://${props.domainName}/`;
  }
}
