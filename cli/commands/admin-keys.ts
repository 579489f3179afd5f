import { defineCommand, expectPositionals } from "../command.js";
import { EXIT } from "../exit-codes.js";
import { formatTime, table } from "../render.js";
import { keysOf } from "../schemas.js";

const admin = "Needs the admin token (--admin-token or BGA_ADMIN_TOKEN).";

const createUsage = "bga admin keys create <tenant> [--callers a,b]";
export const keysCreateCommand = defineCommand({
  name: "admin keys create",
  usage: createUsage,
  brief: "create an API key",
  summary: `Create an API key for a tenant and print it (shown once). ${admin}`,
  options: { callers: { type: "string" } },
  help: [["--callers a,b", "bind the key to these caller agents (X-Caller-Agent)"]],
  async run(ctx, { values, positionals }) {
    const [tenant = ""] = expectPositionals(positionals, ["<tenant>"], createUsage);
    const callers = values.callers
      ?.split(",")
      .map((c) => c.trim())
      .filter(Boolean);
    const created = await ctx.admin().createKey(tenant, callers);
    if (ctx.json) ctx.printJson(created);
    else ctx.out(`Key ${created.key_id} for ${tenant}.\nAPI key (shown once): ${created.api_key}\n`);
    return EXIT.ok;
  },
});

const listUsage = "bga admin keys list <tenant>";
export const keysListCommand = defineCommand({
  name: "admin keys list",
  usage: listUsage,
  brief: "list a tenant's keys",
  summary: `List a tenant's API keys (IDs and bound callers; never the keys). ${admin}`,
  options: {},
  help: [],
  async run(ctx, { positionals }) {
    const [tenant = ""] = expectPositionals(positionals, ["<tenant>"], listUsage);
    const answer = await ctx.admin().listKeys(tenant);
    const keys = keysOf(answer);
    if (ctx.json) ctx.printJson(answer);
    else if (keys.length === 0) ctx.out("No keys.\n");
    else {
      const rows = keys.map((k) => [
        k.key_id,
        k.callers?.join(",") || "(any)",
        formatTime(k.created_at ?? null),
      ]);
      ctx.out(`${table(["KEY ID", "CALLERS", "CREATED"], rows)}\n`);
    }
    return EXIT.ok;
  },
});

const revokeUsage = "bga admin keys revoke <tenant> <key_id>";
export const keysRevokeCommand = defineCommand({
  name: "admin keys revoke",
  usage: revokeUsage,
  brief: "revoke a key",
  summary: `Revoke one of a tenant's API keys. ${admin}`,
  options: {},
  help: [],
  async run(ctx, { positionals }) {
    const [tenant = "", keyId = ""] = expectPositionals(positionals, ["<tenant>", "<key_id>"], revokeUsage);
    const answer = await ctx.admin().revokeKey(tenant, keyId);
    if (ctx.json) ctx.printJson(answer ?? { key_id: keyId, revoked: true });
    else ctx.out(`Revoked key ${keyId} of ${tenant}.\n`);
    return EXIT.ok;
  },
});
