import type { Hono } from "hono";
import type { ApiDeps, ApiEnv } from "../context.js";
import { errorResponse } from "../errors.js";
import type { OpenApiRoutes } from "../openapi.js";

/**
 * MCP over Streamable HTTP, stateless (functions/api/mcp-server.ts): a new server and transport
 * for every request; JSON responses, or an SSE stream for a request that waits and reports
 * progress. MCP Tasks live in the table, so any instance answers for any task. The tenant and
 * caller come from the request's key and headers.
 */
export function mcpRoutes(app: Hono<ApiEnv>, routes: OpenApiRoutes<ApiEnv>, deps: ApiDeps): void {
  routes.describe({
    method: "post",
    path: "/mcp",
    summary:
      "MCP Streamable HTTP (stateless): tools/list and tools/call of the five tools, MCP Tasks (tasks/get, tasks/list, tasks/result, tasks/cancel)",
    security: [{ bearer: [] }],
    responses: {
      200: {
        description:
          "A JSON-RPC response: JSON, or an SSE stream (progress notifications, then the response) for tasks/result and for a request with a progress token",
      },
    },
  });

  app.post("/mcp", async (c) => {
    // The SDK answers an empty JSON-RPC batch with 202; JSON-RPC calls it an invalid request.
    const body: unknown = await c.req.json().catch(() => undefined);
    if (Array.isArray(body) && body.length === 0) {
      return errorResponse(c, 400, "invalid_request", "an empty JSON-RPC batch is not a valid request");
    }
    const { serveMcp } = await import("../mcp-server.js");
    return serveMcp(c.req.raw, body, { tenant: c.get("tenant"), caller: c.get("caller") }, deps);
  });

  // Stateless: no standalone SSE stream and no sessions to delete.
  app.on(["GET", "DELETE"], "/mcp", (c) => {
    c.header("Allow", "POST");
    return errorResponse(c, 405, "method_not_allowed", "this MCP endpoint is stateless: use POST");
  });
}
