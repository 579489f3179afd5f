import type { AgentSpec } from "../agent-config.js";
import type { ToolDefinitionForModel } from "../ports.js";
import { runThink, THINK_TOOL } from "./think.js";

export interface ToolResult {
  ok: boolean;
  text: string;
}

export interface Toolbox {
  definitions: ToolDefinitionForModel[];
  call(name: string, argumentsJson: string, signal: AbortSignal): Promise<ToolResult>;
}

/** The tools a sub-agent gets from its toolsets. */
export function toolboxFor(agent: AgentSpec): Toolbox {
  const definitions: ToolDefinitionForModel[] = [];
  const handlers = new Map<string, (args: string, signal: AbortSignal) => Promise<ToolResult>>();
  for (const ts of agent.toolsets) {
    if (ts.type === "think" && !handlers.has("think")) {
      definitions.push(THINK_TOOL);
      handlers.set("think", async (args) => runThink(args));
    }
  }
  return {
    definitions,
    async call(name, args, signal) {
      const handler = handlers.get(name);
      if (!handler) return { ok: false, text: `error: unknown tool "${name}"` };
      return handler(args, signal);
    },
  };
}
