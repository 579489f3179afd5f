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

/** The coding CLIs a harness agent may run (SPEC §9). */
export const HARNESS_TYPES = ["claude-code", "codex"] as const;
export type HarnessType = (typeof HARNESS_TYPES)[number];
export const HARNESS_EFFORTS = ["low", "medium", "high"] as const;
/** A harness's `timeout` when it names none (SPEC §9); never above the tenant's max_task_seconds. */
export const DEFAULT_HARNESS_TIMEOUT_SECONDS = 600;

/** A harness agent's CLI settings (SPEC §9), as parsed; values may still hold `${env.NAME}`. */
export interface HarnessSpec {
  type: HarnessType;
  effort?: (typeof HARNESS_EFFORTS)[number] | undefined;
  args: string[];
  /** Variables given to the CLI; values may hold `${env.NAME}`, resolved when the task runs. */
  env: Record<string, string>;
  timeout_seconds: number;
  /** Docker's `config:` block, kept as given (codex: `-c key=value` overrides). */
  config?: Record<string, unknown> | undefined;
  workspace?:
    | {
        git: string;
        ref?: string | undefined;
        /** May hold `${env.NAME}`; sent as a header, never in a URL. */
        token?: string | undefined;
        push: boolean;
      }
    | undefined;
  /** The local default tenant only: the CLI binary to run instead of the pinned one. */
  command?: string | undefined;
  /** The local default tenant only: run in this directory instead of a fresh workspace. */
  working_dir?: string | undefined;
}

/** How an agent is run: by this service's model loop, or by a coding CLI (a harness). */
export type AgentKind = "model" | "harness";

export interface AgentSpec {
  name: string;
  /** Absent in configs stored before harness agents existed: "model". */
  kind?: AgentKind | undefined;
  description: string;
  instruction: string;
  /** The model of a `model` agent (a harness agent has none). */
  model?: ModelSpec | undefined;
  /** The CLI of a `harness` agent. */
  harness?: HarnessSpec | undefined;
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

const HarnessSpecSchema = lazy(() =>
  z.object({
    type: z.enum(HARNESS_TYPES),
    effort: z.enum(HARNESS_EFFORTS).optional(),
    args: z.array(z.string()),
    env: z.record(z.string(), z.string()),
    timeout_seconds: z.number().int().positive(),
    config: z.record(z.string(), z.unknown()).optional(),
    workspace: z
      .object({
        git: z.string().min(1),
        ref: z.string().min(1).optional(),
        token: z.string().optional(),
        push: z.boolean(),
      })
      .optional(),
    command: z.string().min(1).optional(),
    working_dir: z.string().min(1).optional(),
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
          kind: z.enum(["model", "harness"]).optional(),
          description: z.string(),
          instruction: z.string(),
          model: ModelSpecSchema().optional(),
          harness: HarnessSpecSchema().optional(),
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

/** How the agent runs: a coding CLI (harness) or the model loop. */
export function agentKind(agent: Pick<AgentSpec, "kind" | "harness">): AgentKind {
  return agent.kind ?? (agent.harness ? "harness" : "model");
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
  options: { readonly allowPrivateNetwork?: boolean; readonly localTenant?: boolean } = {},
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
