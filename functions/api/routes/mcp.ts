import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import { CallToolRequestSchema, ListToolsRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import type { Hono } from "hono";
import { DomainError, NotFoundError } from "../../../shared/domain/errors.js";
import { callTool, toolError } from "../../../shared/tools/call-tool.js";
import { isToolName, TOOL_DEFINITIONS } from "../../../shared/tools/definitions.js";
import type { ApiDeps, ApiEnv } from "../context.js";
import { errorResponse } from "../errors.js";
import type { OpenApiRoutes } from "../openapi.js";

/**
 * MCP over Streamable HTTP, stateless: a new server and transport for every request, JSON
 * responses. The tenant and caller come from the request's key and headers.
 */
export function mcpRoutes(app: Hono<ApiEnv>, routes: OpenApiRoutes<ApiEnv>, deps: ApiDeps): void {
  routes.describe({
    method: "post",
    path: "/mcp",
    summary: "MCP Streamable HTTP (stateless, JSON responses): tools/list and tools/call of the five tools",
    security: [{ bearer: [] }],
    responses: { 200: { description: "A JSON-RPC response" } },
  });

  app.post("/mcp", async (c) => {
    // The SDK answers an empty JSON-RPC batch with 202; JSON-RPC calls it an invalid request.
    const body: unknown = await c.req.json().catch(() => undefined);
    if (Array.isArray(body) && body.length === 0) {
      return errorResponse(c, 400, "invalid_request", "an empty JSON-RPC batch is not a valid request");
    }
    const tenant = c.get("tenant");
    const caller = c.get("caller");
    const server = new Server(
      { name: "background-agents-cloud", version: deps.version },
      { capabilities: { tools: {} } },
    );
    server.setRequestHandler(ListToolsRequestSchema, async () => ({
      tools: TOOL_DEFINITIONS.map((t) => ({
        name: t.name,
        description: t.description,
        inputSchema: t.input_schema as { type: "object"; [k: string]: unknown },
      })),
    }));
    server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
      const name = request.params.name;
      if (!isToolName(name)) return toolError(new NotFoundError(`unknown tool: ${name}`));
      try {
        return await callTool(name, request.params.arguments ?? {}, {
          tenant,
          caller,
          service: deps.service,
          signal: extra.signal,
        });
      } catch (err) {
        if (err instanceof DomainError) return toolError(err);
        deps.log.error("tool call failed", { tool: name, error: String(err) });
        throw new Error("internal error");
      }
    });
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      enableJsonResponse: true,
    });
    await server.connect(transport);
    try {
      return await transport.handleRequest(c.req.raw, body === undefined ? undefined : { parsedBody: body });
    } finally {
      void server.close();
    }
  });

  // Stateless: no standalone SSE stream and no sessions to delete.
  app.on(["GET", "DELETE"], "/mcp", (c) => {
    c.header("Allow", "POST");
    return errorResponse(c, 405, "method_not_allowed", "this MCP endpoint is stateless: use POST");
  });
}
