import * as z from "zod";
import { NotFoundError } from "../../../shared/domain/errors.js";
import { callTool, parseToolArgs } from "../../../shared/tools/call-tool.js";
import { isToolName, TOOL_NAMES, toolDefinitions } from "../../../shared/tools/definitions.js";
import type { ApiDeps, ApiEnv } from "../context.js";
import { defineRoute, type OpenApiRoutes } from "../openapi.js";
import { CallToolResultObject, ErrorSchema, errorResponses, ToolDefinitionObject } from "../schemas.js";

const listTools = defineRoute({
  method: "get",
  path: "/v1/tools",
  summary: "The five tool definitions",
  security: [{ bearer: [] }],
  responses: {
    200: {
      description: "Tool definitions",
      schema: z.object({ tools: z.array(ToolDefinitionObject) }),
    },
    ...errorResponses,
  },
});

const invokeTool = defineRoute({
  method: "post",
  path: "/v1/tools/{name}",
  summary: "Call a tool; the tool's own errors come back as isError results with 200",
  security: [{ bearer: [] }],
  request: {
    // Any name: an unknown tool is a 404 naming the five, not a validation error.
    params: z.object({ name: z.string().meta({ examples: [...TOOL_NAMES] }) }),
    body: { required: true, schema: z.record(z.string(), z.unknown()).meta({ id: "ToolArguments" }) },
  },
  responses: {
    200: {
      description: "The MCP CallToolResult",
      schema: CallToolResultObject,
    },
    ...errorResponses,
    400: {
      description: "Arguments do not fit the tool's schema",
      schema: ErrorSchema,
    },
  },
});

/** The REST tool gateway: the same five tools as MCP, for orchestrators that speak plain HTTP. */
export function toolsRoutes(routes: OpenApiRoutes<ApiEnv>, deps: ApiDeps): void {
  routes.route(listTools, (c) => c.json({ tools: toolDefinitions() }, 200));

  routes.route(invokeTool, async (c, input) => {
    const name = input.param.name;
    if (!isToolName(name)) throw new NotFoundError(`unknown tool: ${name}. Tools: ${TOOL_NAMES.join(", ")}`);
    const args = input.json;
    parseToolArgs(name, args); // a misfit is a 400 invalid_arguments here, not a tool result
    const result = await callTool(name, args, {
      tenant: c.get("tenant"),
      caller: c.get("caller"),
      service: deps.service,
      signal: c.req.raw.signal,
    });
    return c.json(result, 200);
  });
}
