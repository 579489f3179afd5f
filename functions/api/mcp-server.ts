import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import { CallToolRequestSchema, ListToolsRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import { DomainError, NotFoundError } from "../../shared/domain/errors.js";
import type { Tenant } from "../../shared/tenants.js";
import { callTool, toolError } from "../../shared/tools/call-tool.js";
import { isToolName, toolDefinitions } from "../../shared/tools/definitions.js";
import type { ApiDeps } from "./context.js";

/**
 * One MCP request, stateless: a new server and transport for it, a JSON response. Loaded on the
 * first MCP request (routes/mcp.ts imports it dynamically), so the REST API and the tool gateway
 * never load the MCP SDK.
 */
export async function serveMcp(
  httpRequest: Request,
  body: unknown,
  who: { tenant: Tenant; caller: string },
  deps: ApiDeps,
): Promise<Response> {
  const { tenant, caller } = who;
  const server = new Server(
    { name: "background-agents-cloud", version: deps.version },
    { capabilities: { tools: {} } },
  );
  server.setRequestHandler(ListToolsRequestSchema, async () => ({
    tools: toolDefinitions().map((t) => ({
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
    return await transport.handleRequest(httpRequest, body === undefined ? undefined : { parsedBody: body });
  } finally {
    void server.close();
  }
}
