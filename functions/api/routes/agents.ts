import * as z from "zod";
import { agentKind, subAgentsOf } from "../../../shared/agent-spec.js";
import type { ApiEnv } from "../context.js";
import { defineRoute, type OpenApiRoutes } from "../openapi.js";
import { errorResponses } from "../schemas.js";

const AgentObject = z
  .object({
    name: z.string(),
    description: z.string(),
    kind: z.enum(["model", "harness"]).meta({
      description: "`harness`: run by a coding CLI (SPEC §9), whose tasks may have changes",
    }),
  })
  .meta({ id: "Agent" });

const listAgents = defineRoute({
  method: "get",
  path: "/v1/agents",
  summary: "The agents the caller may run (its sub_agents)",
  security: [{ bearer: [] }],
  responses: {
    200: { description: "The caller's runnable agents", schema: z.object({ agents: z.array(AgentObject) }) },
    ...errorResponses,
  },
});

/** `GET /v1/agents` (SPEC §4): what the caller may pass as `agent` to `POST /v1/tasks`. */
export function agentsRoutes(routes: OpenApiRoutes<ApiEnv>): void {
  routes.route(listAgents, (c) => {
    const config = c.get("tenant").config;
    const agents = subAgentsOf(config, c.get("caller")).map((name) => {
      const spec = config.agents[name];
      return { name, description: spec?.description ?? "", kind: spec ? agentKind(spec) : "model" };
    });
    return c.json({ agents }, 200);
  });
}
