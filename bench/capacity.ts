import { isRecord, type ProxiedRequest, READ_OPERATIONS, WRITE_OPERATIONS } from "./dynamo-proxy.js";

/** Capacity units from recorded DynamoDB responses (DynamoDB Local's ConsumedCapacity), and item sizes. */

export interface Units {
  /** Table + indexes. */
  total: number;
  /** Of `total`, global secondary indexes. */
  gsi: number;
}

/** Σ CapacityUnits of a response's ConsumedCapacity (one object, or one per table); undefined if absent. */
export function consumedUnits(response: unknown): Units | undefined {
  if (!isRecord(response) || response.ConsumedCapacity === undefined) return undefined;
  const cc = response.ConsumedCapacity;
  const units: Units = { total: 0, gsi: 0 };
  for (const c of Array.isArray(cc) ? cc : [cc]) {
    if (!isRecord(c)) continue;
    if (typeof c.CapacityUnits === "number") units.total += c.CapacityUnits;
    const indexes = isRecord(c.GlobalSecondaryIndexes) ? Object.values(c.GlobalSecondaryIndexes) : [];
    for (const index of indexes)
      if (isRecord(index) && typeof index.CapacityUnits === "number") units.gsi += index.CapacityUnits;
  }
  return units;
}

/** Items a write request writes (a transaction's or batch's items; 1 otherwise). */
function writtenItems(op: string, request: unknown): number {
  if (!isRecord(request)) return 0;
  if (op === "TransactWriteItems" && Array.isArray(request.TransactItems))
    return request.TransactItems.length;
  if (op === "BatchWriteItem" && isRecord(request.RequestItems))
    return Object.values(request.RequestItems).reduce<number>(
      (n, writes) => n + (Array.isArray(writes) ? writes.length : 0),
      0,
    );
  return 1;
}

export interface OpTally {
  kind: "write" | "read";
  requests: number;
  items: number;
  units: number;
  gsiUnits: number;
  /** Requests whose response had no ConsumedCapacity (e.g. refused): no units counted. */
  missing: number;
}

/** Requests, items and consumed units by operation (reads and writes; other operations skipped). */
export function tallyByOperation(requests: ProxiedRequest[]): Map<string, OpTally> {
  const byOp = new Map<string, OpTally>();
  for (const r of requests) {
    const kind = WRITE_OPERATIONS.has(r.op) ? "write" : READ_OPERATIONS.has(r.op) ? "read" : undefined;
    if (!kind) continue;
    const t = byOp.get(r.op) ?? { kind, requests: 0, items: 0, units: 0, gsiUnits: 0, missing: 0 };
    const units = consumedUnits(r.response);
    t.requests += 1;
    t.items += kind === "write" ? writtenItems(r.op, r.request) : 0;
    t.units += units?.total ?? 0;
    t.gsiUnits += units?.gsi ?? 0;
    t.missing += units ? 0 : 1;
    byOp.set(r.op, t);
  }
  return byOp;
}

/** Σ of `pick` over the operations of one kind. */
export function sumOf(
  byOp: Map<string, OpTally>,
  kind: OpTally["kind"],
  pick: (t: OpTally) => number,
): number {
  let n = 0;
  for (const t of byOp.values()) if (t.kind === kind) n += pick(t);
  return n;
}

/** Write units consumed by write requests (table + indexes). */
export function writeUnits(requests: ProxiedRequest[]): number {
  return requests
    .filter((r) => WRITE_OPERATIONS.has(r.op))
    .reduce((n, r) => n + (consumedUnits(r.response)?.total ?? 0), 0);
}

function utf8(text: string): number {
  return Buffer.byteLength(text, "utf8");
}

/** Size of a number by DynamoDB's rules: ~1 byte per two significant digits, + 1. */
function numberSize(n: number | bigint): number {
  const digits =
    String(n)
      .replace(/^-/, "")
      .replace(/[eE].*$/, "")
      .replace(".", "")
      .replace(/^0+/, "").length || 1;
  return Math.ceil(digits / 2) + 1;
}

/** Size of one attribute value (a plain JS value, as lib-dynamodb returns it) by DynamoDB's rules. */
function valueSize(value: unknown): number {
  if (typeof value === "string") return utf8(value);
  if (typeof value === "number" || typeof value === "bigint") return numberSize(value);
  if (typeof value === "boolean" || value === null) return 1;
  if (value instanceof Uint8Array) return value.length;
  if (value instanceof Set) return [...value].reduce((n: number, v) => n + valueSize(v), 0);
  if (Array.isArray(value)) return 3 + value.reduce((n: number, v) => n + 1 + valueSize(v), 0);
  if (isRecord(value))
    return 3 + Object.entries(value).reduce((n, [k, v]) => n + 1 + utf8(k) + valueSize(v), 0);
  return 0;
}

/** Size of an item (plain JS values) by DynamoDB's rules: names plus values; only `attributes` if given. */
export function itemSize(item: Record<string, unknown>, attributes?: readonly string[]): number {
  return Object.entries(item)
    .filter(([name, v]) => v !== undefined && (!attributes || attributes.includes(name)))
    .reduce((n, [name, v]) => n + utf8(name) + valueSize(v), 0);
}
