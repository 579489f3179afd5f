import { parse as parseYaml, YAMLParseError } from "yaml";
import { z } from "zod";
import { InvalidConfigError } from "./domain/errors.js";

/**
 * The subset of Docker's agent runtime config (`agents:` / `models:`) that the service runs.
 * Keys the runtime knows but this service has no use for (for example `add_date`) are accepted
 * and ignored, so an existing config loads unchanged.
 */

export const SUPPORTED_PROVIDERS = ["openai"] as const;
export const PLANNED_PROVIDERS = ["anthropic", "amazon-bedrock"] as const;
export const SUPPORTED_TOOLSETS = ["think"] as const;
export const PLANNED_TOOLSETS = ["mcp", "background_agents"] as const;

const ModelEntrySchema = z.looseObject({
  provider: z.string().min(1),
  model: z.string().min(1),
  base_url: z.url().optional(),
  max_tokens: z.number().int().positive().optional(),
  temperature: z.number().min(0).max(2).optional(),
});

const ToolsetSchema = z.looseObject({ type: z.string().min(1) });

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
  agents: z.record(z.string().min(1), AgentEntrySchema),
  models: z.record(z.string().min(1), ModelEntrySchema).optional(),
});

export interface ModelSpec {
  provider: string;
  model: string;
  base_url?: string;
  max_tokens?: number;
  temperature?: number;
}

export interface AgentSpec {
  name: string;
  description: string;
  instruction: string;
  model: ModelSpec;
  sub_agents: string[];
  toolsets: { type: string }[];
  max_iterations: number;
}

export interface AgentConfig {
  agents: Record<string, AgentSpec>;
}

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
    raw = parseYaml(yamlText);
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
        toolsets: dispatchable.has(name) ? (agent.toolsets ?? []).map((t) => ({ type: t.type })) : [],
        max_iterations: agent.max_iterations ?? DEFAULT_MAX_ITERATIONS,
      };
    }
  }
  if (problems.length > 0) throw new InvalidConfigError(problems);
  return { agents };
}

/** The agents a caller may start: the caller's own `sub_agents`. */
export function subAgentsOf(config: AgentConfig, caller: string): string[] {
  return config.agents[caller]?.sub_agents ?? [];
}
