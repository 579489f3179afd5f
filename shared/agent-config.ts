import { isIP } from "node:net";
import { type Document, isPair, isScalar, parseDocument, visit, YAMLParseError } from "yaml";
import * as z from "zod";
import {
  type AgentConfig,
  type AgentSpec,
  DEFAULT_HARNESS_TIMEOUT_SECONDS,
  HARNESS_EFFORTS,
  HARNESS_TYPES,
  type HarnessSpec,
  type ModelSpec,
} from "./agent-spec.js";
import { InvalidConfigError } from "./domain/errors.js";
import { ENV_REF } from "./env-refs.js";
import { isPublicAddress } from "./security/network-guard.js";

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

const KNOWN_HARNESS_KEYS = [
  "type",
  "effort",
  "args",
  "env",
  "timeout",
  "config",
  "permission_policy",
  "command",
  "working_dir",
  "workspace",
];

/** A YAML scalar given where a string is meant (`PORT: 8080` in `env:`): its text. */
const ScalarText = z.union([z.string(), z.number(), z.boolean()]).transform(String);

const HarnessEntrySchema = z.looseObject({
  type: z.enum(HARNESS_TYPES, { error: `must be one of: ${HARNESS_TYPES.join(", ")}` }),
  effort: z.enum(HARNESS_EFFORTS, { error: `must be one of: ${HARNESS_EFFORTS.join(", ")}` }).optional(),
  args: z.array(ScalarText).optional(),
  env: z.record(z.string().min(1), ScalarText).optional(),
  timeout: z.union([z.string().min(1), z.number().int().positive()]).optional(),
  config: z.record(z.string(), z.unknown()).optional(),
  permission_policy: z.union([z.string(), z.looseObject({ mode: z.string().optional() })]).optional(),
  command: z.string().min(1).optional(),
  working_dir: z.string().min(1).optional(),
  workspace: z
    .strictObject({
      git: z.string().min(1),
      ref: ScalarText.optional(),
      token: z.string().optional(),
      push: z.boolean().optional(),
    })
    .optional(),
});

const AgentEntrySchema = z.looseObject({
  model: z.string().min(1).optional(),
  description: z.string().optional(),
  instruction: z.string().optional(),
  sub_agents: z.array(z.string().min(1)).optional(),
  toolsets: z.array(ToolsetSchema).optional(),
  max_iterations: z.number().int().positive().optional(),
  // Checked on its own (harnessSpec), so its problems come with every other one.
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

export interface ParseConfigOptions {
  /**
   * Whether the deployment lets remote URLs reach loopback, private or link-local addresses
   * (BGA_ALLOW_PRIVATE_NETWORK). When false, a model `base_url` or an MCP `remote.url` whose host
   * is such an IP literal, or `localhost`, is refused when the config is written.
   * @default true (the parser alone knows no deployment: the admin use case passes its setting)
   */
  readonly allowPrivateNetwork?: boolean;
  /**
   * Whether the config is the local default tenant's (npm start's BGA_CONFIG): only there may a
   * harness name its own `command` or `working_dir`, or a `workspace.git` that is a local path or
   * `file://` URL (SPEC §9). @default false
   */
  readonly localTenant?: boolean;
}

/**
 * How many aliases a YAML document may expand (the yaml package's `maxAliasCount`, which counts
 * each alias by the size of what it copies): a "billion laughs" document, whose aliases multiply,
 * passes it at once. A real agent config has a handful.
 */
export const MAX_YAML_ALIASES = 100;

function zodProblems(error: z.ZodError): ConfigProblem[] {
  return error.issues.map((i) => ({ path: i.path.join(".") || "(root)", reason: i.message }));
}

/** Why a YAML text did not parse, in one line; nothing of the parser's internals beyond its message. */
function yamlProblem(err: unknown): string {
  if (err instanceof YAMLParseError) return err.message.split("\n")[0] ?? "not valid YAML";
  // Aliases are resolved after parsing, and the yaml package reports them as ReferenceErrors.
  if (err instanceof ReferenceError) {
    if (/excessive alias count/i.test(err.message)) {
      return `not valid YAML: too many aliases (aliases may expand at most ${MAX_YAML_ALIASES} nodes; a document whose aliases multiply, a "billion laughs", is refused)`;
    }
    if (err.message.startsWith("Unresolved alias")) return `not valid YAML: ${err.message}`;
  }
  return "not valid YAML";
}

/**
 * Characters no agent name may hold: controls (NUL, …), format characters (the bidi override
 * U+202E, zero-width spaces, …), surrogates, private-use and unassigned code points, and every
 * kind of space. Names are shown to models and people and sent as X-Caller-Agent; letters and
 * digits of any script with `_`, `-`, `.` (as Docker's agent configs name them) all pass.
 */
const UNSAFE_NAME_CHAR = /[\p{C}\p{Z}\s]/u;

/** A name as it may be shown in a path: each unsafe character as its code point (`\u202E`). */
function shownName(name: string): string {
  return name.replace(
    new RegExp(UNSAFE_NAME_CHAR.source, "gu"),
    (ch) => `\\u${(ch.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, "0")}`,
  );
}

function agentNameProblem(name: string): string | undefined {
  // As a key of a plain object it would set the prototype instead of naming an agent.
  if (name === "__proto__") return "__proto__ is not allowed as a name";
  const bad = UNSAFE_NAME_CHAR.exec(name)?.[0];
  if (bad === undefined) return undefined;
  const code = `U+${(bad.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, "0")}`;
  return `agent name holds ${code}, a control, format or space character; use letters, digits, _, - and .`;
}

/**
 * The path of a `__proto__` mapping key, if the document has one: read into a JS object it would
 * set the object's prototype instead of naming an agent or a model, and vanish without a word.
 */
function protoKeyPath(doc: Document): string | undefined {
  let found: string | undefined;
  visit(doc, {
    Pair(_, pair, path) {
      if (!isScalar(pair.key) || pair.key.value !== "__proto__") return undefined;
      const keys = path.filter(isPair).map((p) => (isScalar(p.key) ? String(p.key.value) : "?"));
      found = [...keys, "__proto__"].join(".");
      return visit.BREAK;
    },
  });
  return found;
}

/** Parses and checks a config. Throws InvalidConfigError listing every problem with its path. */
export function parseAgentConfig(yamlText: string, options: ParseConfigOptions = {}): AgentConfig {
  const allowPrivateNetwork = options.allowPrivateNetwork ?? true;
  let raw: unknown;
  try {
    const doc = parseDocument(yamlText, { logLevel: "error" });
    if (doc.errors[0]) throw doc.errors[0];
    const protoKey = protoKeyPath(doc);
    if (protoKey !== undefined) {
      throw new InvalidConfigError([{ path: protoKey, reason: "__proto__ is not allowed as a name" }]);
    }
    raw = doc.toJS({ maxAliasCount: MAX_YAML_ALIASES });
  } catch (err) {
    if (err instanceof InvalidConfigError) throw err;
    throw new InvalidConfigError([{ path: "(root)", reason: yamlProblem(err) }]);
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
  for (const name of Object.keys(file.agents)) {
    const reason = agentNameProblem(name);
    if (reason) problems.push({ path: `agents.${shownName(name)}`, reason });
  }
  unknownKeys(file, KNOWN_TOP_KEYS, "");
  for (const [name, agent] of Object.entries(file.agents))
    unknownKeys(agent, KNOWN_AGENT_KEYS, `agents.${shownName(name)}`);
  for (const [name, model] of Object.entries(file.models ?? {}))
    unknownKeys(model, KNOWN_MODEL_KEYS, `models.${name}`);
  for (const [name, model] of Object.entries(file.models ?? {})) {
    const reason = model.base_url === undefined ? undefined : urlProblem(model.base_url, allowPrivateNetwork);
    if (reason) problems.push({ path: `models.${name}.base_url`, reason });
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
    if (agent.harness !== undefined && agent.harness !== null) {
      const harness = harnessSpec(name, agent.harness, {
        allowPrivateNetwork,
        localTenant: options.localTenant ?? false,
        problems,
      });
      if (agent.sub_agents?.length) {
        problems.push({
          path: `agents.${name}.sub_agents`,
          reason: `agent "${name}" is a harness agent (a coding CLI runs it); it has no sub_agents`,
        });
      }
      if (harness) {
        agents[name] = {
          name,
          kind: "harness",
          description: agent.description ?? "",
          instruction: agent.instruction ?? "",
          harness,
          sub_agents: [],
          // A coding CLI brings its own tools: toolsets on a harness agent are ignored (SPEC §9).
          toolsets: [],
          max_iterations: agent.max_iterations ?? DEFAULT_MAX_ITERATIONS,
        };
      }
      continue;
    }
    if (agent.model === undefined) {
      problems.push({ path: `agents.${name}.model`, reason: "an agent needs a model: or a harness:" });
      continue;
    }
    const model = resolveModel(agent.model, `agents.${name}.model`);
    if (dispatchable.has(name)) {
      if (model && !(SUPPORTED_PROVIDERS as readonly string[]).includes(model.provider)) {
        const planned = (PLANNED_PROVIDERS as readonly string[]).includes(model.provider);
        problems.push({
          path: `agents.${name}.model`,
          reason: `${planned ? "provider not yet supported" : "unknown provider"} "${model.provider}"; supported providers: ${SUPPORTED_PROVIDERS.join(", ")}`,
        });
      }
      for (const [i, ts] of (agent.toolsets ?? []).entries()) {
        const urlReason = ts.remote ? urlProblem(ts.remote.url, allowPrivateNetwork) : undefined;
        if (urlReason) problems.push({ path: `agents.${name}.toolsets.${i}.remote.url`, reason: urlReason });
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

/** A Go-style duration (`30m`, `1h30m`, `90s`) or a number of seconds, in seconds. */
function durationSeconds(value: string | number): number | undefined {
  if (typeof value === "number") return value;
  const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(value.trim());
  if (!m || value.trim() === "") return undefined;
  const seconds = Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0);
  return seconds > 0 ? seconds : undefined;
}

/** The permission modes of Docker's runtime; a background task cannot answer a prompt. */
const REFUSED_PERMISSION_MODES: Record<string, string> = {
  ask: "it asks a person before each tool call, and a background task has nobody to answer",
  deny_all: "it denies every tool call, and a coding CLI without tools cannot do its task",
};

/** The harness block of an agent, checked (SPEC §9); problems are pushed with their paths. */
function harnessSpec(
  name: string,
  raw: unknown,
  ctx: { allowPrivateNetwork: boolean; localTenant: boolean; problems: ConfigProblem[] },
): HarnessSpec | undefined {
  const path = `agents.${shownName(name)}.harness`;
  const parsed = HarnessEntrySchema.safeParse(raw);
  if (!parsed.success) {
    for (const p of zodProblems(parsed.error))
      ctx.problems.push({ path: p.path === "(root)" ? path : `${path}.${p.path}`, reason: p.reason });
    return undefined;
  }
  const entry = parsed.data;
  const before = ctx.problems.length;
  const problem = (key: string, reason: string) => ctx.problems.push({ path: `${path}.${key}`, reason });
  for (const key of Object.keys(entry)) {
    if (!KNOWN_HARNESS_KEYS.includes(key)) problem(key, `unknown key "${key}"`);
  }
  const policy = entry.permission_policy;
  const mode = typeof policy === "string" ? policy : policy?.mode;
  if (mode !== undefined && mode !== "auto_allow") {
    const why = REFUSED_PERMISSION_MODES[mode];
    problem(
      "permission_policy",
      why
        ? `agent "${name}": permission_policy mode "${mode}" is refused: ${why}; use auto_allow (the default)`
        : `agent "${name}": unknown permission_policy mode "${mode}"; background tasks allow only auto_allow`,
    );
  }
  let timeoutSeconds = DEFAULT_HARNESS_TIMEOUT_SECONDS;
  if (entry.timeout !== undefined) {
    const seconds = durationSeconds(entry.timeout);
    if (seconds === undefined) problem("timeout", `not a duration: "${entry.timeout}" (e.g. 30m, 1h, 90s)`);
    else timeoutSeconds = seconds;
  }
  for (const key of ["command", "working_dir"] as const) {
    if (entry[key] !== undefined && !ctx.localTenant) {
      problem(
        key,
        `agent "${name}": ${key} is honoured only for the local default tenant (npm start); in the service every task gets the pinned CLI and a fresh workspace`,
      );
    }
  }
  const ws = entry.workspace;
  if (ws) {
    const reason = gitUrlProblem(ws.git, ctx);
    if (reason) problem("workspace.git", reason);
  }
  if (ctx.problems.length > before) return undefined;
  return {
    type: entry.type,
    ...(entry.effort ? { effort: entry.effort } : {}),
    args: entry.args ?? [],
    env: entry.env ?? {},
    timeout_seconds: timeoutSeconds,
    ...(entry.config ? { config: entry.config } : {}),
    ...(ws
      ? {
          workspace: {
            git: ws.git,
            ...(ws.ref !== undefined ? { ref: ws.ref } : {}),
            ...(ws.token !== undefined ? { token: ws.token } : {}),
            push: ws.push ?? false,
          },
        }
      : {}),
    ...(entry.command !== undefined ? { command: entry.command } : {}),
    ...(entry.working_dir !== undefined ? { working_dir: entry.working_dir } : {}),
  };
}

/**
 * What is wrong with a `workspace.git`, if anything: `https://` under the private-network rule;
 * a local path or `file://` only for the local default tenant (a git host on this machine).
 */
function gitUrlProblem(
  value: string,
  ctx: { allowPrivateNetwork: boolean; localTenant: boolean },
): string | undefined {
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(value)?.[1]?.toLowerCase();
  if (scheme === undefined || scheme === "file") {
    return ctx.localTenant
      ? undefined
      : "a local path or file:// repository works only for the local default tenant (npm start); use an https:// URL";
  }
  if (scheme !== "https") return "not an https:// URL (git over http, ssh or git:// is not supported)";
  if (/[^/]*:[^/@]*@/.test(value.replace(/^https:\/\//, "").split("/")[0] ?? "")) {
    return "holds a password in the URL; give the token as workspace.token (it is sent in a header, never in the URL)";
  }
  return urlProblem(value, ctx.allowPrivateNetwork);
}

/**
 * What is wrong with a remote URL of a config (a model's `base_url`, an MCP `remote.url`), if
 * anything: it must be http(s), and, where private networks are not allowed, its host must not be
 * a loopback, private or link-local IP literal nor `localhost` / `*.localhost`.
 *
 * Names that need DNS are not resolved here: an answer now says nothing about the answer when the
 * URL is used. They are checked where the connection is made (network-guard.ts: assertPublicUrl
 * and guardedFetch, which a later DNS answer cannot get around). A host holding `${env.NAME}` is
 * known only when the tenant's secrets are resolved, so it too is checked only then.
 */
function urlProblem(value: string, allowPrivateNetwork: boolean): string | undefined {
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(value)?.[1]?.toLowerCase();
  if (scheme !== undefined && scheme !== "http" && scheme !== "https") {
    return "not an http(s) URL";
  }
  const host = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/(?:[^/?#]*@)?([^/?#]*)/.exec(value)?.[1];
  // With `${env.NAME}` in the host (or the whole URL from secrets) it is only known when used.
  if ((host ?? value).match(ENV_REF)) return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return "not an http(s) URL";
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return "not an http(s) URL";
  if (allowPrivateNetwork) return undefined;
  const hostname = url.hostname
    .replace(/^\[|\]$/g, "")
    .replace(/\.$/, "")
    .toLowerCase();
  const refused =
    "refused: this service does not connect to loopback, private or link-local addresses (BGA_ALLOW_PRIVATE_NETWORK is false)";
  if (hostname === "localhost" || hostname.endsWith(".localhost")) {
    return `host "${hostname}" is a loopback name; ${refused}`;
  }
  if (isIP(hostname) && !isPublicAddress(hostname)) {
    return `host ${hostname} is a loopback, private or link-local address; ${refused}`;
  }
  return undefined;
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
