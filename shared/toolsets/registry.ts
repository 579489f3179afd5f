import type { AgentSpec } from "../agent-config.js";
import type { TaskRecord } from "../domain/task.js";
import type { ToolDefinitionForModel } from "../ports.js";
import type { Tenant } from "../tenants.js";
import { callTool } from "../tools/call-tool.js";
import { isToolName, toolDefinitions } from "../tools/definitions.js";
import type { TaskService } from "../use-cases/task-service.js";
import { runThink, THINK_TOOL } from "./think.js";

export interface ToolResult {
  ok: boolean;
  text: string;
}

export interface Toolbox {
  definitions: ToolDefinitionForModel[];
  call(name: string, argumentsJson: string, signal: AbortSignal): Promise<ToolResult>;
  close(): Promise<void>;
}

export interface ToolboxContext {
  tenant: Tenant;
  /** The task the tools work for (the parent of anything it dispatches). */
  task: TaskRecord;
  /** Needed by the `background_agents` toolset. */
  service?: TaskService | undefined;
  allowPrivateNetwork: boolean;
  /** Limit on connecting to a remote MCP server and on each of its tool calls. */
  mcpTimeoutMs: number;
  /** Seconds a nested `wait` may still block (what is left of the step's budget). */
  maxWaitSeconds: () => number;
}

type Handler = (argumentsJson: string, signal: AbortSignal) => Promise<ToolResult>;

/** Opens the tools a sub-agent gets from its toolsets; close() releases remote connections. */
export async function openToolbox(agent: AgentSpec, ctx: ToolboxContext): Promise<Toolbox> {
  const definitions: ToolDefinitionForModel[] = [];
  const handlers = new Map<string, Handler>();
  const closers: (() => Promise<void>)[] = [];
  const add = (def: ToolDefinitionForModel, handler: Handler) => {
    if (handlers.has(def.name)) return; // the first toolset that offers a name keeps it
    definitions.push(def);
    handlers.set(def.name, handler);
  };
  try {
    for (const ts of agent.toolsets) {
      if (ts.type === "think") {
        add(THINK_TOOL, async (args) => runThink(args));
      } else if (ts.type === "mcp" && ts.remote) {
        // The MCP client SDK loads with the first agent that uses a remote MCP server.
        const { openMcpToolset } = await import("./mcp.js");
        const mcp = await openMcpToolset({
          remote: ts.remote,
          tools: ts.tools,
          secrets: ctx.tenant.credentials,
          allowPrivateNetwork: ctx.allowPrivateNetwork,
          timeoutMs: ctx.mcpTimeoutMs,
        });
        closers.push(mcp.close);
        for (const def of mcp.definitions) add(def, (args, signal) => mcp.call(def.name, args, signal));
      } else if (ts.type === "background_agents" && ctx.service) {
        const service = ctx.service;
        for (const def of toolDefinitions()) {
          add(
            { name: def.name, description: def.description, parameters: def.input_schema },
            async (args, signal) => nestedCall(def.name, args, signal, service, agent, ctx),
          );
        }
      }
    }
  } catch (err) {
    await Promise.allSettled(closers.map((c) => c()));
    throw err;
  }
  return {
    definitions,
    async call(name, args, signal) {
      const handler = handlers.get(name);
      if (!handler) return { ok: false, text: `error: unknown tool "${name}"` };
      return handler(args, signal);
    },
    async close() {
      await Promise.allSettled(closers.map((c) => c()));
    },
  };
}

/** A sub-agent using the background-agents tools: as its own caller, for its own children. */
async function nestedCall(
  name: string,
  argumentsJson: string,
  signal: AbortSignal,
  service: TaskService,
  agent: AgentSpec,
  ctx: ToolboxContext,
): Promise<ToolResult> {
  if (!isToolName(name)) return { ok: false, text: `error: unknown tool "${name}"` };
  let args: unknown;
  try {
    args = JSON.parse(argumentsJson || "{}");
  } catch {
    return { ok: false, text: "error: the tool arguments are not valid JSON" };
  }
  try {
    const result = await callTool(name, args, {
      tenant: ctx.tenant,
      caller: agent.name,
      service,
      signal,
      parent: { id: ctx.task.id, depth: ctx.task.depth },
      maxWaitSeconds: Math.max(0, Math.floor(ctx.maxWaitSeconds())),
    });
    const text = result.content.map((c) => c.text).join("\n");
    return { ok: !result.isError, text };
  } catch (err) {
    // Arguments that do not fit the schema are the model's mistake: tell it, don't crash the task.
    return { ok: false, text: `error: ${err instanceof Error ? err.message : String(err)}` };
  }
}
