import { serve } from "@hono/node-server";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import { Hono } from "hono";
import * as z from "zod";

/**
 * A real MCP server (the official SDK, Streamable HTTP, stateless) on loopback: the stand-in for
 * a team's remote MCP server. Tools: add, fail (a tool error), boom (throws), slow.
 */
export async function startMcpServer(options: { token?: string } = {}) {
  const seen: { authorization: string | undefined; tool?: string }[] = [];
  const app = new Hono();
  app.post("/mcp", async (c) => {
    const authorization = c.req.header("authorization");
    seen.push({ authorization });
    if (options.token && authorization !== `Bearer ${options.token}`)
      return c.json({ error: "unauthorized" }, 401);
    const server = new McpServer({ name: "test-tools", version: "1.0.0" });
    server.registerTool(
      "add",
      { description: "Adds two numbers", inputSchema: { a: z.number(), b: z.number() } },
      async ({ a, b }) => ({ content: [{ type: "text", text: String(a + b) }] }),
    );
    server.registerTool("fail", { description: "Always fails", inputSchema: {} }, async () => ({
      content: [{ type: "text", text: "the database is down" }],
      isError: true,
    }));
    server.registerTool("boom", { description: "Throws", inputSchema: {} }, async () => {
      throw new Error("kaboom");
    });
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      enableJsonResponse: true,
    });
    await server.connect(transport);
    return transport.handleRequest(c.req.raw);
  });
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, () => resolve(s));
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    seen,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
