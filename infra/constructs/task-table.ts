import { RemovalPolicy } from "aws-cdk-lib";
import { AttributeType, BillingMode, ProjectionType, Table, TableEncryption } from "aws-cdk-lib/aws-dynamodb";
import type { Grant, IGrantable } from "aws-cdk-lib/aws-iam";
import type { IKey } from "aws-cdk-lib/aws-kms";
import { Construct } from "constructs";
import { TABLE_SCHEMA } from "../../shared/table-schema.js";
import { acknowledgeGrantWildcards } from "./nag.js";

/** The data-plane actions the repository (shared/adapters/dynamo/task-repository.ts) uses. */
export const ITEM_ACTIONS = [
  "dynamodb:GetItem",
  "dynamodb:BatchGetItem",
  "dynamodb:Query",
  "dynamodb:PutItem",
  "dynamodb:UpdateItem",
  "dynamodb:DeleteItem",
  "dynamodb:BatchWriteItem",
  "dynamodb:ConditionCheckItem",
] as const;

export interface TaskTableProps {
  /** A customer managed key for encryption at rest. @default the AWS managed key (aws/dynamodb) */
  readonly encryptionKey?: IKey;
  /** What happens to the table when the stack is deleted. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
  /** Refuse deletion of the table. @default false */
  readonly deletionProtection?: boolean;
}

/**
 * The single table of tasks, output chunks, checkpoints, counters and idempotency keys. Its
 * keys, indexes and TTL attribute come from TABLE_SCHEMA, the same object the local runtime
 * creates its table from, so the two cannot drift apart.
 */
export class TaskTable extends Construct {
  readonly table: Table;

  constructor(scope: Construct, id: string, props: TaskTableProps = {}) {
    super(scope, id);
    this.table = new Table(this, "Table", {
      partitionKey: { name: TABLE_SCHEMA.partitionKey, type: AttributeType.STRING },
      sortKey: { name: TABLE_SCHEMA.sortKey, type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: TABLE_SCHEMA.ttlAttribute,
      ...(props.encryptionKey
        ? { encryption: TableEncryption.CUSTOMER_MANAGED, encryptionKey: props.encryptionKey }
        : { encryption: TableEncryption.AWS_MANAGED }),
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
      deletionProtection: props.deletionProtection ?? false,
    });
    for (const index of TABLE_SCHEMA.indexes) {
      this.table.addGlobalSecondaryIndex({
        indexName: index.name,
        partitionKey: { name: index.partitionKey, type: AttributeType.STRING },
        sortKey: { name: index.sortKey, type: AttributeType.STRING },
        projectionType: ProjectionType[index.projection],
        nonKeyAttributes: [...index.include],
      });
    }
  }

  get tableName(): string {
    return this.table.tableName;
  }

  /**
   * Read and write items and query the indexes: what the API, runner and reconciler need.
   * Item-level actions only (no Scan, no streams, no table management); transactions need
   * nothing beyond the item actions they contain.
   */
  grantReadWriteData(grantee: IGrantable): Grant {
    const grant = this.table.grant(grantee, ...ITEM_ACTIONS);
    acknowledgeGrantWildcards(
      grantee,
      grant,
      "<table>/index/* covers only this table's own GSIs (by_tenant, by_status), which the queries use",
    );
    return grant;
  }
}
