import { Duration, RemovalPolicy, Validations } from "aws-cdk-lib";
import { Queue, QueueEncryption } from "aws-cdk-lib/aws-sqs";
import type { Construct } from "constructs";

/**
 * A dead-letter queue (encrypted, TLS only, 14 days): what `of` failed on after every retry, kept
 * for an operator. It has no redrive policy of its own, which cdk-nag is told with that reason;
 * the caller puts an alarm on its depth.
 */
export function deadLetterQueue(scope: Construct, id: string, of: string): Queue {
  const queue = new Queue(scope, id, {
    encryption: QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
    removalPolicy: RemovalPolicy.DESTROY,
  });
  Validations.of(queue).acknowledge({
    id: "Serverless-SQSRedrivePolicy",
    reason: `This queue is itself the dead-letter queue of ${of}; an alarm watches its depth`,
  });
  return queue;
}
