import { isRecord } from "./dynamo-json.js";
import { type ProxiedRequest, READ_OPERATIONS, WRITE_OPERATIONS } from "./dynamo-proxy.js";

/**
 * Capacity units of recorded DynamoDB requests. DynamoDB Local's ConsumedCapacity is used as
 * reported except for TransactWriteItems, where it is not DynamoDB's (it reports 2 units for
 * three new 700-byte items, where DynamoDB charges 2 per KB per item: 6): their table units are
 * computed by DynamoDB's rule from the item sizes the proxy read before and after each request.
 */

export interface Units {
  /** Table + indexes. */
  total: number;
  /** Of `total`, global secondary indexes. */
  gsi: number;
}

/** Σ CapacityUnits of a response's ConsumedCapacity (one object, or one per table); undefined if absent. */
export function reportedUnits(response: unknown): Units | undefined {
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

/** DynamoDB's rule for a transaction: 2 WRU per KB (rounded up) of each item, the larger of its sizes before and after. */
export function transactionTableUnits(itemBytes: number[]): number {
  return itemBytes.reduce((n, bytes) => n + 2 * Math.max(1, Math.ceil(bytes / 1024)), 0);
}

/** The units of one request: the transaction rule for TransactWriteItems (index units as Local reports), else Local's. */
export function requestUnits(r: ProxiedRequest): Units | undefined {
  const reported = reportedUnits(r.response);
  if (!reported || !r.itemBytes || r.status !== 200) return reported;
  return { total: transactionTableUnits(r.itemBytes) + reported.gsi, gsi: reported.gsi };
}

/** Items a write request writes (a transaction's or batch's items; 1 otherwise). */
function writtenItems(op: string, request: unknown): number {
  if (!isRecord(request)) return 0;
  if (op === "TransactWriteItems" && Array.isArray(request.TransactItems))
    return request.TransactItems.length;
  if (op === "BatchWriteItem" && isRecord(request.RequestItems))
    return Object.values(request.RequestItems).reduce<number>(
      (n, w) => n + (Array.isArray(w) ? w.length : 0),
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
  /** What DynamoDB Local reported (differs from `units` for transactions). */
  reported: number;
  /** Requests whose response had no ConsumedCapacity (e.g. refused): no units counted. */
  missing: number;
}

/** Requests, items and units by operation (reads and writes; other operations skipped). */
export function tallyByOperation(requests: ProxiedRequest[]): Map<string, OpTally> {
  const byOp = new Map<string, OpTally>();
  for (const r of requests) {
    const kind = WRITE_OPERATIONS.has(r.op) ? "write" : READ_OPERATIONS.has(r.op) ? "read" : undefined;
    if (!kind) continue;
    const t = byOp.get(r.op) ?? {
      kind,
      requests: 0,
      items: 0,
      units: 0,
      gsiUnits: 0,
      reported: 0,
      missing: 0,
    };
    const units = requestUnits(r);
    t.requests += 1;
    t.items += kind === "write" ? writtenItems(r.op, r.request) : 0;
    t.units += units?.total ?? 0;
    t.gsiUnits += units?.gsi ?? 0;
    t.reported += reportedUnits(r.response)?.total ?? 0;
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

/** Write units of the write requests among `requests` (table + indexes). */
export function writeUnits(requests: ProxiedRequest[]): number {
  return requests
    .filter((r) => WRITE_OPERATIONS.has(r.op))
    .reduce((n, r) => n + (requestUnits(r)?.total ?? 0), 0);
}
