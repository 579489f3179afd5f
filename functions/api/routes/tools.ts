import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { NotFoundError } from "../../../shared/domain/errors.js";
import { callTool, parseToolArgs } from "../../../shared/tools/call-tool.js";
import { isToolName, TOOL_DEFINITIONS, TOOL_NAMES } from "../../../shared/tools/definitions.js";
import type { ApiDeps, ApiEnv } from "../context.js";
import { CallToolResultObject, ErrorSchema, errorResponses, ToolDefinitionObject } from "../schemas.js";
import { validationHook } from "../validation.js";

const listTools = createRoute({
  method: "get",
  path: "/v1/tools",
  summary: "The five tool definitions",
  security: [{ bearer: [] }],
  responses: {
    200: {
      description: "Tool definitions",
      content: { "application/json": { schema: z.object({ tools: z.array(ToolDefinitionObject) }) } },
    },
    ...errorResponses,
  },
});

const invokeTool = createRoute({
  method: "post",
  path: "/v1/tools/{name}",
  summary: "Call a tool; the tool's own errors come back as isError results with 200",
  security: [{ bearer: [] }],
  request: {
    params: z.object({ name: z.string().openapi({ param: { name: "name", in: "path" }, enum: TOOL_NAMES }) }),
    body: {
      required: true,
      content: { "application/json": { schema: z.record(z.string(), z.unknown()).openapi("ToolArguments") } },
    },
  },
  responses: {
    200: {
      description: "The MCP CallToolResult",
      content: { "application/json": { schema: CallToolResultObject } },
    },
    ...errorResponses,
    400: {
      description: "Arguments do not fit the tool's schema",
      content: { "application/json": { schema: ErrorSchema } },
    },
  },
});

/** The REST tool gateway: the same five tools as MCP, for orchestrators that speak plain HTTP. */
export function toolsRoutes(deps: ApiDeps) {
  const app = new OpenAPIHono<ApiEnv>({ defaultHook: validationHook });

  app.openapi(listTools, (c) => c.json({ tools: TOOL_DEFINITIONS }, 200));

  app.openapi(invokeTool, async (c) => {
    const name = c.req.valid("param").name;
    if (!isToolName(name)) throw new NotFoundError(`unknown tool: ${name}. Tools: ${TOOL_NAMES.join(", ")}`);
    const args = c.req.valid("json");
    parseToolArgs(name, args); // a misfit is a 400 invalid_arguments here, not a tool result
    const result = await callTool(name, args, {
      tenant: c.get("tenant"),
      caller: c.get("caller"),
      service: deps.service,
      signal: c.req.raw.signal,
    });
    return c.json(result, 200);
  });

  return app;
}
