import { TABLE_SCHEMA } from "../shared/table-schema.js";

/** DynamoDB items and requests as JSON: item sizes by DynamoDB's rules, the items a transaction writes. */

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function parseJson(buffer: Buffer): unknown {
  try {
    return JSON.parse(buffer.toString("utf8"));
  } catch {
    return undefined;
  }
}

function utf8(text: string): number {
  return Buffer.byteLength(text, "utf8");
}

/** Size of a number by DynamoDB's rules: ~1 byte per two significant digits, + 1. */
function numberSize(text: string): number {
  const digits =
    text
      .replace(/^-/, "")
      .replace(/[eE].*$/, "")
      .replace(".", "")
      .replace(/^0+/, "").length || 1;
  return Math.ceil(digits / 2) + 1;
}

/** Size of one AttributeValue (DynamoDB JSON, as on the wire). */
function wireValueSize(value: unknown): number {
  if (!isRecord(value)) return 0;
  if (typeof value.S === "string") return utf8(value.S);
  if (typeof value.N === "string") return numberSize(value.N);
  if (typeof value.B === "string") return Buffer.from(value.B, "base64").length;
  if ("BOOL" in value || "NULL" in value) return 1;
  if (Array.isArray(value.L)) return 3 + value.L.reduce((n: number, v) => n + 1 + wireValueSize(v), 0);
  if (isRecord(value.M))
    return 3 + Object.entries(value.M).reduce((n, [k, v]) => n + 1 + utf8(k) + wireValueSize(v), 0);
  const set = [value.SS, value.NS, value.BS].find(Array.isArray);
  return set ? set.reduce((n: number, v) => n + (typeof v === "string" ? utf8(v) : 0), 0) : 0;
}

/** Size of an item in DynamoDB JSON: attribute names plus values. */
export function wireItemSize(item: unknown): number {
  if (!isRecord(item)) return 0;
  return Object.entries(item).reduce((n, [name, v]) => n + utf8(name) + wireValueSize(v), 0);
}

/** Size of one attribute value as lib-dynamodb returns it (plain JS). */
function valueSize(value: unknown): number {
  if (typeof value === "string") return utf8(value);
  if (typeof value === "number" || typeof value === "bigint") return numberSize(String(value));
  if (typeof value === "boolean" || value === null) return 1;
  if (value instanceof Uint8Array) return value.length;
  if (value instanceof Set) return [...value].reduce((n: number, v) => n + valueSize(v), 0);
  if (Array.isArray(value)) return 3 + value.reduce((n: number, v) => n + 1 + valueSize(v), 0);
  if (isRecord(value))
    return 3 + Object.entries(value).reduce((n, [k, v]) => n + 1 + utf8(k) + valueSize(v), 0);
  return 0;
}

/** Size of an item of plain JS values: names plus values; only `attributes` if given. */
export function itemSize(item: Record<string, unknown>, attributes?: readonly string[]): number {
  return Object.entries(item)
    .filter(([name, v]) => v !== undefined && (!attributes || attributes.includes(name)))
    .reduce((n, [name, v]) => n + utf8(name) + valueSize(v), 0);
}

/** The item one TransactItems entry writes or checks: its table and key (DynamoDB JSON). */
export interface TransactTarget {
  table: string;
  key: Record<string, unknown>;
}

/** The key of a Put's item: the table's key attributes (TABLE_SCHEMA). */
function keyOf(item: Record<string, unknown>): Record<string, unknown> {
  return {
    [TABLE_SCHEMA.partitionKey]: item[TABLE_SCHEMA.partitionKey],
    [TABLE_SCHEMA.sortKey]: item[TABLE_SCHEMA.sortKey],
  };
}

/** The items of a TransactWriteItems request, in order. */
export function transactTargets(request: unknown): TransactTarget[] {
  if (!isRecord(request) || !Array.isArray(request.TransactItems)) return [];
  return request.TransactItems.flatMap((entry): TransactTarget[] => {
    const action = isRecord(entry) ? Object.values(entry)[0] : undefined;
    if (!isRecord(action) || typeof action.TableName !== "string") return [];
    const key = isRecord(action.Key) ? action.Key : isRecord(action.Item) ? keyOf(action.Item) : undefined;
    return key ? [{ table: action.TableName, key }] : [];
  });
}
