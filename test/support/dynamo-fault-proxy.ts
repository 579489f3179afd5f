import { createServer, request as httpRequest, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface FaultReply {
  status: number;
  body: unknown;
  /** Pass the request on (it is applied) and give the client this reply instead of the real one. */
  afterApplying?: boolean;
}

export const INTERNAL_SERVER_ERROR: FaultReply = {
  status: 500,
  body: { __type: "com.amazonaws.dynamodb.v20120810#InternalServerError", message: "injected" },
};

/** A TransactWriteItems cancelled because another transaction held its item at `index` (of `items`). */
export function transactionConflict(items: number, index: number): FaultReply {
  return {
    status: 400,
    body: {
      __type: "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
      message: "Transaction cancelled, please refer cancellation reasons for specific reasons",
      CancellationReasons: Array.from({ length: items }, (_, i) =>
        i === index
          ? { Code: "TransactionConflict", Message: "Transaction is ongoing for the item" }
          : { Code: "None" },
      ),
    },
  };
}

/**
 * A pass-through proxy in front of DynamoDB Local that fails chosen requests with a 500 (the
 * fault a real DynamoDB can give), so tests see what the service does when writes keep failing.
 * `failNext(op, n)`: the next n requests of operation `op` (e.g. TransactWriteItems) get a 500.
 */
export class DynamoFaultProxy {
  private readonly faults = new Map<string, { left: number; reply: FaultReply }>();
  /** Requests answered with an injected fault, by operation. */
  readonly injected = new Map<string, number>();
  private readonly server: Server;
  url = "";

  constructor(upstream: string) {
    this.server = createServer((req, res) => {
      const op = String(req.headers["x-amz-target"] ?? "").split(".")[1] ?? "";
      const fault = this.faults.get(op);
      if (fault && fault.left > 0) {
        fault.left -= 1;
        this.injected.set(op, (this.injected.get(op) ?? 0) + 1);
        if (fault.reply.afterApplying) {
          forward(() => {
            res.writeHead(fault.reply.status, { "content-type": "application/x-amz-json-1.0" });
            res.end(JSON.stringify(fault.reply.body));
          });
          return;
        }
        req.resume();
        res.writeHead(fault.reply.status, { "content-type": "application/x-amz-json-1.0" });
        res.end(JSON.stringify(fault.reply.body));
        return;
      }
      forward();

      /** Passes the request to DynamoDB Local: its answer goes back, or `instead` answers once it is applied. */
      function forward(instead?: () => void): void {
        const target = new URL(upstream);
        const upstreamRequest = httpRequest(
          {
            hostname: target.hostname,
            port: target.port,
            path: req.url,
            method: req.method,
            headers: req.headers,
          },
          (up) => {
            if (instead) {
              up.resume();
              up.on("end", instead);
              return;
            }
            res.writeHead(up.statusCode ?? 502, up.headers);
            up.pipe(res);
          },
        );
        upstreamRequest.on("error", () => res.destroy());
        req.pipe(upstreamRequest);
      }
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", () => resolve()));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  failNext(op: string, count: number, reply: FaultReply = INTERNAL_SERVER_ERROR): void {
    this.faults.set(op, { left: count, reply });
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
