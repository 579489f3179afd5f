import { readFileSync } from "node:fs";
import { defineCommand, expectPositionals, pairs } from "../command.js";
import type { Context } from "../context.js";
import { UsageError } from "../errors.js";
import { EXIT } from "../exit-codes.js";
import { formatTime, table } from "../render.js";
import { type AdminTenant, tenantOf, tenantsOf } from "../schemas.js";

const admin = "Needs the admin token (--admin-token or BGA_ADMIN_TOKEN).";

export const tenantsListCommand = defineCommand({
  name: "admin tenants list",
  usage: "bga admin tenants list",
  brief: "list tenants",
  summary: `List the tenants. ${admin}`,
  options: {},
  help: [],
  async run(ctx, { positionals }) {
    expectPositionals(positionals, [], "bga admin tenants list");
    const answer = await ctx.admin().listTenants();
    const tenants = tenantsOf(answer);
    if (ctx.json) ctx.printJson(answer);
    else if (tenants.length === 0) ctx.out("No tenants.\n");
    else {
      const rows = tenants.map((t) => [
        t.id,
        t.agents?.join(",") ?? "-",
        String(t.limits?.max_running_tasks ?? "-"),
        formatTime(t.created_at ?? null),
      ]);
      ctx.out(`${table(["ID", "AGENTS", "MAX RUNNING", "CREATED"], rows)}\n`);
    }
    return EXIT.ok;
  },
});

const createUsage = "bga admin tenants create <id> --config FILE [--limits JSON]";
export const tenantsCreateCommand = defineCommand({
  name: "admin tenants create",
  usage: createUsage,
  brief: "create a tenant (prints its first key)",
  summary: `Create a tenant with its agent config and print its first API key (shown once). ${admin}`,
  options: { config: { type: "string" }, limits: { type: "string" } },
  help: [
    ["--config FILE", "the agent config YAML (`-` reads stdin)"],
    ["--limits JSON", "limits other than the defaults, e.g. '{\"max_running_tasks\":5}'"],
  ],
  async run(ctx, { values, positionals }) {
    const [id = ""] = expectPositionals(positionals, ["<id>"], createUsage);
    const config = await readConfig(ctx, values.config, createUsage);
    const limits = values.limits === undefined ? undefined : parseLimitsJson(values.limits, createUsage);
    const created = await ctx.admin().createTenant(id, config, limits);
    if (ctx.json) ctx.printJson(created);
    else ctx.out(`Created tenant ${created.tenant.id}.\nAPI key (shown once): ${created.api_key}\n`);
    return EXIT.ok;
  },
});

const configUsage = "bga admin tenants config <id> --config FILE";
export const tenantsConfigCommand = defineCommand({
  name: "admin tenants config",
  usage: configUsage,
  brief: "replace a tenant's agent config",
  summary: `Replace a tenant's agent config (an invalid one is refused with every problem listed). ${admin}`,
  options: { config: { type: "string" } },
  help: [["--config FILE", "the agent config YAML (`-` reads stdin)"]],
  async run(ctx, { values, positionals }) {
    const [id = ""] = expectPositionals(positionals, ["<id>"], configUsage);
    const config = await readConfig(ctx, values.config, configUsage);
    const answer = await ctx.admin().setConfig(id, config);
    const tenant = tenantOf(answer);
    if (ctx.json) ctx.printJson(answer);
    else ctx.out(`Updated the config of ${tenant.id}${agentsNote(tenant)}.\n`);
    return EXIT.ok;
  },
});

const limitsUsage = "bga admin tenants limits <id> NAME=VALUE…";
export const tenantsLimitsCommand = defineCommand({
  name: "admin tenants limits",
  usage: limitsUsage,
  brief: "change a tenant's limits",
  summary: `Change some of a tenant's limits, e.g. max_running_tasks=5 max_task_seconds=600. ${admin}`,
  options: {},
  help: [],
  notes: ["Limits: max_running_tasks, max_task_seconds, max_output_bytes, max_task_bytes, retention_days."],
  async run(ctx, { positionals }) {
    const [id, ...items] = positionals;
    if (!id || items.length === 0)
      throw new UsageError(id ? "missing NAME=VALUE" : "missing <id>", limitsUsage);
    const patch = Object.fromEntries(
      pairs(items, "a limit", limitsUsage).map(([k, v]) => [k, limitValue(v)]),
    );
    const answer = await ctx.admin().patchLimits(id, patch);
    const tenant = tenantOf(answer);
    if (ctx.json) ctx.printJson(answer);
    else {
      const limits = Object.entries(tenant.limits ?? patch).map(([k, v]) => `${k}=${String(v)}`);
      ctx.out(`Limits of ${tenant.id}: ${limits.join(" ")}\n`);
    }
    return EXIT.ok;
  },
});

const secretsUsage = "bga admin tenants secrets <id> NAME[=VALUE]…";
export const tenantsSecretsCommand = defineCommand({
  name: "admin tenants secrets",
  usage: secretsUsage,
  brief: "replace a tenant's secrets",
  summary: `Replace a tenant's secrets (what \${env.NAME} in its config resolves to). ${admin}`,
  options: {},
  help: [],
  notes: [
    "A bare NAME takes its value from this shell's environment variable NAME, which keeps the value",
    "out of the shell history. Secrets are write-only: they are never shown again.",
  ],
  async run(ctx, { positionals }) {
    const [id, ...items] = positionals;
    if (!id || items.length === 0)
      throw new UsageError(id ? "missing NAME=VALUE" : "missing <id>", secretsUsage);
    const secrets: Record<string, string> = {};
    for (const item of items) {
      if (item.includes("=")) {
        const [[name, value] = ["", ""]] = pairs([item], "a secret", secretsUsage);
        secrets[name] = value;
      } else {
        const value = ctx.io.env[item];
        if (value === undefined) throw new UsageError(`${item} is not set in the environment`, secretsUsage);
        secrets[item] = value;
      }
    }
    const answer = await ctx.admin().putSecrets(id, secrets);
    const names = answer?.names ?? Object.keys(secrets).sort();
    if (ctx.json) ctx.printJson(answer ?? { names });
    else ctx.out(`Stored ${names.length} secrets for ${id}: ${names.join(", ")}\n`);
    return EXIT.ok;
  },
});

async function readConfig(ctx: Context, file: string | undefined, usage: string): Promise<string> {
  if (file === undefined) throw new UsageError("missing --config FILE", usage);
  if (file === "-") {
    let text = "";
    for await (const piece of ctx.io.stdin) text += piece.toString();
    return text;
  }
  try {
    return readFileSync(file, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new Error(`cannot read --config ${file}: ${code}`);
  }
}

function parseLimitsJson(text: string, usage: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new UsageError("--limits must be a JSON object", usage);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new UsageError("--limits must be a JSON object", usage);
  }
  return value as Record<string, unknown>;
}

/** Limits are numbers; anything else is sent as given for the server to judge. */
function limitValue(v: string): number | string {
  return /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : v;
}

function agentsNote(tenant: AdminTenant): string {
  return tenant.agents?.length ? ` (agents: ${tenant.agents.join(", ")})` : "";
}
