import { connect } from "node:net";
import { networkInterfaces } from "node:os";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EmbeddedDynamo, startEmbeddedDynamo } from "../../local/embedded-dynamodb.js";

/** Resolves "open" when a TCP connection to host:port succeeds, else the error code. */
function tryConnect(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.setTimeout(2000, () => {
      socket.destroy();
      resolve("timeout");
    });
    socket.once("connect", () => {
      socket.destroy();
      resolve("open");
    });
    socket.once("error", (err: NodeJS.ErrnoException) => resolve(err.code ?? "error"));
  });
}

/** This machine's addresses that are not loopback (where another machine would connect). */
function externalAddresses(): string[] {
  return Object.values(networkInterfaces())
    .flat()
    .filter((a) => a && !a.internal && a.family === "IPv4")
    .map((a) => (a as { address: string }).address);
}

describe("embedded DynamoDB Local", () => {
  let dynamo: EmbeddedDynamo;
  beforeAll(async () => {
    dynamo = await startEmbeddedDynamo();
  }, 60_000);
  afterAll(async () => {
    await dynamo?.stop();
  });

  it("listens on 127.0.0.1 only: the machine's other addresses refuse the connection", async () => {
    const port = Number(new URL(dynamo.endpoint).port);
    expect(dynamo.listensOn).toBe("loopback");
    expect(await tryConnect("127.0.0.1", port)).toBe("open");
    const external = externalAddresses();
    for (const address of external) expect(await tryConnect(address, port)).toBe("ECONNREFUSED");
  });
});
