import { parse as parseYaml, YAMLParseError } from "yaml";
import * as z from "zod";
import type { AgentConfig, AgentSpec, ModelSpec } from "./agent-spec.js";
import { InvalidConfigError } from "./domain/errors.js";
import { ENV_REF } from "./env-refs.js";

export type { AgentConfig, AgentSpec, ModelSpec, ToolsetSpec } from "./agent-spec.js";
export { subAgentsOf } from "./agent-spec.js";

/**
 * The subset of Docker's agent runtime config (`agents:` / `models:`) that the service runs.
 * Keys the runtime knows but this service has no use for (for example `add_date`) are accepted
 * and ignored, so an existing config loads unchanged.
 */

export const SUPPORTED_PROVIDERS = ["openai", "anthropic", "amazon-bedrock"] as const;
export const PLANNED_PROVIDERS = [] as const;
export const SUPPORTED_TOOLSETS = ["think", "mcp", "background_agents"] as const;

/**
 * Keys of Docker's agent runtime config that are accepted. Those this service does not use are
 * ignored (so existing configs load unchanged); anything else is reported as an unknown key.
 */
const KNOWN_TOP_KEYS = [
  "version",
  "agents",
  "models",
  "metadata",
  "rag",
  "providers",
  "permissions",
  "tools",
  "$schema",
];
const KNOWN_AGENT_KEYS = [
  "name",
  "model",
  "description",
  "welcome_message",
  "instruction",
  "toolsets",
  "sub_agents",
  "handoffs",
  "add_date",
  "add_environment_info",
  "add_prompt_files",
  "code_mode_tools",
  "max_iterations",
  "num_history_items",
  "commands",
  "structured_output",
  "rag",
  "skills",
  "hooks",
  "fallback",
  "max_consecutive_tool_calls",
  "harness",
  "think",
  "tools",
  "memory",
  "todo",
  "redirect",
];
const KNOWN_MODEL_KEYS = [
  "provider",
  "model",
  "base_url",
  "max_tokens",
  "temperature",
  "top_p",
  "frequency_penalty",
  "presence_penalty",
  "parallel_tool_calls",
  "token_key",
  "provider_opts",
  "thinking_budget",
  "track_usage",
  "type",
  "routing",
  "display_name",
];

const ModelEntrySchema = z.looseObject({
  provider: z.string().min(1),
  model: z.string().min(1),
  base_url: z.string().min(1).optional(),
  max_tokens: z.number().int().positive().optional(),
  temperature: z.number().min(0).max(2).optional(),
  token_key: z.string().min(1).optional(),
  provider_opts: z.looseObject({ region: z.string().min(1).optional() }).optional(),
});

const ToolsetSchema = z.looseObject({
  type: z.string().min(1),
  remote: z
    .looseObject({
      url: z.string().min(1),
      transport_type: z.enum(["streamable", "streamable-http", "sse"]).optional(),
      headers: z.record(z.string(), z.string()).optional(),
    })
    .optional(),
  tools: z.array(z.string().min(1)).optional(),
});

const AgentEntrySchema = z.looseObject({
  model: z.string().min(1),
  description: z.string().optional(),
  instruction: z.string().optional(),
  sub_agents: z.array(z.string().min(1)).optional(),
  toolsets: z.array(ToolsetSchema).optional(),
  max_iterations: z.number().int().positive().optional(),
  harness: z.unknown().optional(),
});

const ConfigFileSchema = z.looseObject({
  version: z.union([z.string(), z.number()]).optional(),
  agents: z
    .record(z.string().min(1), AgentEntrySchema)
    .refine((agents) => Object.keys(agents).length > 0, "at least one agent is needed"),
  models: z.record(z.string().min(1), ModelEntrySchema).optional(),
});

export const DEFAULT_MAX_ITERATIONS = 50;

export interface ConfigProblem {
  path: string;
  reason: string;
}

function zodProblems(error: z.ZodError): ConfigProblem[] {
  return error.issues.map((i) => ({ path: i.path.join(".") || "(root)", reason: i.message }));
}

/** Parses and checks a config. Throws InvalidConfigError listing every problem with its path. */
export function parseAgentConfig(yamlText: string): AgentConfig {
  let raw: unknown;
  try {
    raw = parseYaml(yamlText, { logLevel: "error" });
  } catch (err) {
    const reason = err instanceof YAMLParseError ? err.message.split("\n")[0] : "not valid YAML";
    throw new InvalidConfigError([{ path: "(root)", reason: reason ?? "not valid YAML" }]);
  }
  const parsed = ConfigFileSchema.safeParse(raw);
  if (!parsed.success) throw new InvalidConfigError(zodProblems(parsed.error));
  const file = parsed.data;
  const problems: ConfigProblem[] = [];

  const resolveModel = (ref: string, path: string): ModelSpec | undefined => {
    const named = file.models?.[ref];
    const spec: ModelSpec | undefined = named
      ? {
          provider: named.provider,
          model: named.model,
          ...(named.base_url ? { base_url: named.base_url } : {}),
          ...(named.max_tokens ? { max_tokens: named.max_tokens } : {}),
          ...(named.temperature !== undefined ? { temperature: named.temperature } : {}),
          ...(named.token_key ? { token_key: named.token_key } : {}),
          ...(named.provider_opts?.region ? { region: named.provider_opts.region } : {}),
        }
      : ref.includes("/")
        ? { provider: ref.slice(0, ref.indexOf("/")), model: ref.slice(ref.indexOf("/") + 1) }
        : undefined;
    if (!spec?.model) {
      problems.push({ path, reason: `unknown model "${ref}": use provider/model or a key of models:` });
      return undefined;
    }
    return spec;
  };

  const unknownKeys = (obj: Record<string, unknown>, known: string[], path: string) => {
    for (const key of Object.keys(obj)) {
      if (!known.includes(key))
        problems.push({ path: path ? `${path}.${key}` : key, reason: `unknown key "${key}"` });
    }
  };
  unknownKeys(file, KNOWN_TOP_KEYS, "");
  for (const [name, agent] of Object.entries(file.agents))
    unknownKeys(agent, KNOWN_AGENT_KEYS, `agents.${name}`);
  for (const [name, model] of Object.entries(file.models ?? {}))
    unknownKeys(model, KNOWN_MODEL_KEYS, `models.${name}`);
  for (const [name, model] of Object.entries(file.models ?? {})) {
    if (model.base_url && !isUrl(model.base_url)) {
      problems.push({ path: `models.${name}.base_url`, reason: "not an http(s) URL" });
    }
  }
  for (const cycle of findCycles(file.agents)) {
    problems.push({
      path: `agents.${cycle[0]}.sub_agents`,
      reason: `sub_agents form a cycle: ${cycle.join(" → ")}`,
    });
  }

  const dispatchable = new Set<string>();
  for (const [name, agent] of Object.entries(file.agents)) {
    for (const [i, sub] of (agent.sub_agents ?? []).entries()) {
      if (!file.agents[sub]) {
        problems.push({ path: `agents.${name}.sub_agents.${i}`, reason: `names no agent: "${sub}"` });
      } else {
        dispatchable.add(sub);
      }
    }
  }

  const agents: Record<string, AgentSpec> = {};
  for (const [name, agent] of Object.entries(file.agents)) {
    const model = resolveModel(agent.model, `agents.${name}.model`);
    if (dispatchable.has(name)) {
      if (agent.harness !== undefined) {
        problems.push({
          path: `agents.${name}.harness`,
          reason: `agent "${name}" uses a harness (coding CLI); harness agents are planned but not yet supported`,
        });
      }
      if (model && !(SUPPORTED_PROVIDERS as readonly string[]).includes(model.provider)) {
        const planned = (PLANNED_PROVIDERS as readonly string[]).includes(model.provider);
        problems.push({
          path: `agents.${name}.model`,
          reason: `${planned ? "provider not yet supported" : "unknown provider"} "${model.provider}"; supported providers: ${SUPPORTED_PROVIDERS.join(", ")}`,
        });
      }
      for (const [i, ts] of (agent.toolsets ?? []).entries()) {
        if (ts.type === "mcp" && !ts.remote) {
          problems.push({
            path: `agents.${name}.toolsets.${i}`,
            reason: `agent "${name}" uses an mcp toolset without remote.url; only remote MCP servers (remote: {url, transport_type, headers}) are supported`,
          });
        }
        if (!(SUPPORTED_TOOLSETS as readonly string[]).includes(ts.type)) {
          problems.push({
            path: `agents.${name}.toolsets.${i}.type`,
            reason: `agent "${name}" uses toolset "${ts.type}", which is not supported; supported toolset types: ${SUPPORTED_TOOLSETS.join(", ")}`,
          });
        }
      }
    }
    if (model) {
      agents[name] = {
        name,
        description: agent.description ?? "",
        instruction: agent.instruction ?? "",
        model,
        sub_agents: agent.sub_agents ?? [],
        // Toolsets of agents that are never dispatched (the orchestrator's own) are ignored.
        toolsets: dispatchable.has(name)
          ? (agent.toolsets ?? []).map((t) => ({
              type: t.type,
              ...(t.remote ? { remote: t.remote } : {}),
              ...(t.tools ? { tools: t.tools } : {}),
            }))
          : [],
        max_iterations: agent.max_iterations ?? DEFAULT_MAX_ITERATIONS,
      };
    }
  }
  if (problems.length > 0) throw new InvalidConfigError(problems);
  return { agents };
}

function isUrl(value: string): boolean {
  // With `${env.NAME}` parts the URL is only known when the secrets are resolved.
  if (value.match(ENV_REF)) return true;
  try {
    const url = new URL(value);
    return url.protocol === "http:" || url.protocol === "https:";
  } catch {
    return false;
  }
}

/** Every cycle in the sub_agents graph, each as a path that ends where it starts. */
function findCycles(agents: Record<string, { sub_agents?: string[] | undefined }>): string[][] {
  const cycles: string[][] = [];
  const state = new Map<string, "visiting" | "done">();
  const stack: string[] = [];
  const visit = (name: string) => {
    state.set(name, "visiting");
    stack.push(name);
    for (const sub of agents[name]?.sub_agents ?? []) {
      if (!agents[sub]) continue;
      if (state.get(sub) === "visiting") cycles.push([...stack.slice(stack.indexOf(sub)), sub]);
      else if (!state.has(sub)) visit(sub);
    }
    stack.pop();
    state.set(name, "done");
  };
  for (const name of Object.keys(agents)) if (!state.has(name)) visit(name);
  return cycles;
}
