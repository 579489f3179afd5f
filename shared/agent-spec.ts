import * as z from "zod";
import { lazy } from "./lazy.js";

/**
 * An agent config as the service uses it, once parsed and checked (shared/agent-config.ts parses
 * the YAML). No YAML here: the API and the runner read a tenant's config from the JSON stored
 * next to its YAML (tenant-store.ts), so they never load a YAML parser for it.
 */

/** A toolset as the runner uses it. */
export interface ToolsetSpec {
  type: string;
  /** `mcp`: the remote server (url and headers may hold `${env.NAME}`). */
  remote?: { url: string; transport_type?: string | undefined; headers?: Record<string, string> | undefined };
  /** `mcp`: only these tools of the server. */
  tools?: string[] | undefined;
}

export interface ModelSpec {
  provider: string;
  model: string;
  /** May hold `${env.NAME}` references, resolved from the tenant's secrets when the model is called. */
  base_url?: string;
  max_tokens?: number;
  temperature?: number;
  /** Name of the secret that holds the provider's API key (default: the provider's usual variable). */
  token_key?: string;
  /** amazon-bedrock: the AWS region (from `provider_opts.region`; default AWS_REGION). */
  region?: string;
}

export interface AgentSpec {
  name: string;
  description: string;
  instruction: string;
  model: ModelSpec;
  sub_agents: string[];
  toolsets: ToolsetSpec[];
  max_iterations: number;
}

export interface AgentConfig {
  agents: Record<string, AgentSpec>;
}

const ModelSpecSchema = lazy(() =>
  z.object({
    provider: z.string().min(1),
    model: z.string().min(1),
    base_url: z.string().min(1).optional(),
    max_tokens: z.number().int().positive().optional(),
    temperature: z.number().optional(),
    token_key: z.string().min(1).optional(),
    region: z.string().min(1).optional(),
  }),
);

const ToolsetSpecSchema = lazy(() =>
  z.object({
    type: z.string().min(1),
    remote: z
      .object({
        url: z.string().min(1),
        transport_type: z.string().optional(),
        headers: z.record(z.string(), z.string()).optional(),
      })
      .optional(),
    tools: z.array(z.string()).optional(),
  }),
);

/** The parsed form, as stored in JSON: checked again when read back (a boundary like any other). */
export const AgentConfigSchema = lazy(
  () =>
    z.object({
      agents: z.record(
        z.string().min(1),
        z.object({
          name: z.string().min(1),
          description: z.string(),
          instruction: z.string(),
          model: ModelSpecSchema(),
          sub_agents: z.array(z.string()),
          toolsets: z.array(ToolsetSpecSchema()),
          max_iterations: z.number().int().positive(),
        }),
      ),
    }) satisfies z.ZodType<AgentConfig>,
);

/** A config stored with agentConfigToJson, read back and checked. */
export function agentConfigFromJson(text: string): AgentConfig {
  return AgentConfigSchema().parse(JSON.parse(text));
}

export function agentConfigToJson(config: AgentConfig): string {
  return JSON.stringify(config);
}

/** The agents a caller may start: the caller's own `sub_agents`. */
export function subAgentsOf(config: AgentConfig, caller: string): string[] {
  return config.agents[caller]?.sub_agents ?? [];
}

/**
 * Parses and checks a YAML config (shared/agent-config.ts, loaded on first use: only config
 * writes, and tenants stored before their config had a JSON form, need the YAML parser).
 */
export async function parseAgentConfigText(
  yamlText: string,
  options: { readonly allowPrivateNetwork?: boolean } = {},
): Promise<AgentConfig> {
  const { parseAgentConfig } = await import("./agent-config.js");
  return parseAgentConfig(yamlText, options);
}

/** A stored tenant's config: its JSON form when it has one, else its YAML parsed. */
export async function storedAgentConfig(record: {
  config: string;
  config_json?: string | undefined;
}): Promise<AgentConfig> {
  if (record.config_json !== undefined) return agentConfigFromJson(record.config_json);
  return parseAgentConfigText(record.config);
}
