import * as z from "zod";
import type { AdminClient } from "../admin-client.js";
import { defineCommand, expectPositionals } from "../command.js";
import { ApiError } from "../errors.js";
import { EXIT } from "../exit-codes.js";
import { formatTime, printable, table } from "../render.js";

const admin = "Needs the admin token (--admin-token or BGA_ADMIN_TOKEN).";
const webhookPath = (tenant: string) => `/v1/admin/tenants/${encodeURIComponent(tenant)}/webhook`;

const WebhookWithSecretSchema = z.looseObject({ url: z.string(), secret: z.string() });
const AttemptSchema = z.looseObject({
  at: z.string(),
  status_code: z.number().nullable(),
  error: z.string().nullable(),
  duration_ms: z.number(),
});
const DeliveriesSchema = z.looseObject({
  deliveries: z.array(
    z.looseObject({
      webhook_id: z.string(),
      task_id: z.string(),
      type: z.string(),
      state: z.string(),
      created_at: z.string(),
      next_attempt_at: z.string().nullable(),
      attempts: z.array(AttemptSchema),
    }),
  ),
});
const WebhookSchema = z.looseObject({ url: z.string(), created_at: z.string() });

async function readWebhook(client: AdminClient, tenant: string) {
  try {
    return (await client.http.json("GET", webhookPath(tenant), WebhookSchema)).data;
  } catch (err) {
    // No webhook (404) still lets the deliveries be shown.
    if (err instanceof ApiError && err.status === 404 && err.code === "not_found") return null;
    throw err;
  }
}

const setUsage = "bga admin webhook set <tenant> <url>";
export const webhookSetCommand = defineCommand({
  name: "admin webhook set",
  usage: setUsage,
  brief: "set a tenant's completion webhook",
  summary: `Set a tenant's completion webhook and print its signing secret (shown once; setting it again makes a new one). ${admin}`,
  options: {},
  help: [],
  async run(ctx, { positionals }) {
    const [tenant = "", url = ""] = expectPositionals(positionals, ["<tenant>", "<url>"], setUsage);
    const answer = (
      await ctx.admin().http.json("PUT", webhookPath(tenant), WebhookWithSecretSchema, { body: { url } })
    ).data;
    if (ctx.json) ctx.printJson(answer);
    else ctx.out(`Webhook of ${tenant}: ${answer.url}\nSigning secret (shown once): ${answer.secret}\n`);
    return EXIT.ok;
  },
});

const deleteUsage = "bga admin webhook delete <tenant>";
export const webhookDeleteCommand = defineCommand({
  name: "admin webhook delete",
  usage: deleteUsage,
  brief: "remove a tenant's webhook",
  summary: `Remove a tenant's completion webhook (pending deliveries are abandoned). ${admin}`,
  options: {},
  help: [],
  async run(ctx, { positionals }) {
    const [tenant = ""] = expectPositionals(positionals, ["<tenant>"], deleteUsage);
    await ctx.admin().http.json("DELETE", webhookPath(tenant), z.unknown());
    if (ctx.json) ctx.printJson({ tenant, deleted: true });
    else ctx.out(`Removed the webhook of ${tenant}.\n`);
    return EXIT.ok;
  },
});

const statusUsage = "bga admin webhook status <tenant> [--limit n]";
export const webhookStatusCommand = defineCommand({
  name: "admin webhook status",
  usage: statusUsage,
  brief: "show a tenant's webhook and recent deliveries",
  summary: `Show a tenant's webhook and its recent deliveries, newest first, each attempt with its time, HTTP status or error and duration. ${admin}`,
  options: { limit: { type: "string" } },
  help: [["--limit n", "deliveries to show (1-100, default 20)"]],
  async run(ctx, { values, positionals }) {
    const [tenant = ""] = expectPositionals(positionals, ["<tenant>"], statusUsage);
    const limit = values.limit ?? "20";
    const client = ctx.admin();
    const webhook = await readWebhook(client, tenant);
    const { deliveries } = (
      await client.http.json(
        "GET",
        `${webhookPath(tenant)}/deliveries?limit=${encodeURIComponent(limit)}`,
        DeliveriesSchema,
      )
    ).data;
    if (ctx.json) {
      ctx.printJson({ webhook, deliveries });
      return EXIT.ok;
    }
    const lines = [
      webhook ? `Webhook: ${printable(webhook.url)} (set ${formatTime(webhook.created_at)})` : "No webhook.",
    ];
    if (deliveries.length === 0) lines.push("No deliveries.");
    for (const d of deliveries) {
      const next =
        d.state === "pending" && d.next_attempt_at ? `, next attempt ${formatTime(d.next_attempt_at)}` : "";
      lines.push("", `${d.task_id}  ${d.type}  ${d.state}${next}  (webhook-id ${d.webhook_id})`);
      if (d.attempts.length === 0) lines.push("  no attempt yet");
      else
        lines.push(
          table(
            ["  ATTEMPT", "AT", "RESULT", "DURATION"],
            d.attempts.map((a, i) => [
              `  ${i + 1}`,
              formatTime(a.at),
              a.status_code !== null ? `HTTP ${a.status_code}` : printable(a.error ?? "error"),
              `${a.duration_ms} ms`,
            ]),
          ),
        );
    }
    ctx.out(`${lines.join("\n")}\n`);
    return EXIT.ok;
  },
});
