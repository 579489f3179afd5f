import { createHmac, hkdfSync, timingSafeEqual } from "node:crypto";
import * as z from "zod";

/**
 * The capability of one harness task (SPEC §9, the container's only credential): a token that
 * lets its holder claim, report on and save the changes of ONE task of ONE tenant, until it
 * expires. It is an HMAC-SHA256 over the tenant ID, the task ID and the expiry, keyed with a key
 * derived (HKDF, its own label) from the service secret, so it is checked without storing
 * anything, cannot be forged without the service secret, and says nothing about any other task.
 *
 *   bgacap1.<base64url(JSON {t: tenantId, k: taskId, e: expiry epoch s})>.<base64url(HMAC)>
 *
 * It is minted by the state machine's PrepareHarness step (the runner Lambda, which holds the
 * service secret) and handed to the container in its ECS overrides; it carries no tenant secret.
 */

const PREFIX = "bgacap1";
const KEY_LABEL = "bga harness task capability v1";

/** What a capability grants: one task of one tenant, until `expiresAt` (epoch seconds). */
export interface TaskGrant {
  tenantId: string;
  taskId: string;
  expiresAt: number;
}

const GrantSchema = z.object({
  t: z.string().min(1).max(256),
  k: z.string().min(1).max(256),
  e: z.number().int().positive(),
});

/** Why a capability was refused: malformed or forged (`invalid`), or out of date (`expired`). */
export type CapabilityRefusal = "invalid" | "expired";

export type CapabilityCheck = { ok: true; grant: TaskGrant } | { ok: false; reason: CapabilityRefusal };

export class TaskCapabilities {
  private readonly key: Buffer;

  /** @param serviceSecret the deployment's service secret (the bytes ServiceKeys is built from). */
  constructor(serviceSecret: Buffer | string) {
    const secret = typeof serviceSecret === "string" ? Buffer.from(serviceSecret, "utf8") : serviceSecret;
    if (secret.length < 32) throw new Error("the service secret must be at least 32 bytes");
    this.key = Buffer.from(hkdfSync("sha256", secret, Buffer.alloc(0), KEY_LABEL, 32));
  }

  /** A capability for `grant.taskId` of `grant.tenantId`, good until `grant.expiresAt`. */
  mint(grant: TaskGrant): string {
    const body = Buffer.from(
      JSON.stringify({ t: grant.tenantId, k: grant.taskId, e: Math.floor(grant.expiresAt) }),
      "utf8",
    ).toString("base64url");
    return `${PREFIX}.${body}.${this.sign(body)}`;
  }

  /** Checks a capability's signature and expiry (constant-time comparison); says nothing about the task's status. */
  verify(token: string, now: Date = new Date()): CapabilityCheck {
    const parts = token.split(".");
    if (parts.length !== 3 || parts[0] !== PREFIX) return { ok: false, reason: "invalid" };
    const [, body = "", signature = ""] = parts;
    const expected = Buffer.from(this.sign(body), "base64url");
    const given = Buffer.from(signature, "base64url");
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      return { ok: false, reason: "invalid" };
    }
    let json: unknown;
    try {
      json = JSON.parse(Buffer.from(body, "base64url").toString("utf8"));
    } catch {
      return { ok: false, reason: "invalid" };
    }
    const parsed = GrantSchema.safeParse(json);
    if (!parsed.success) return { ok: false, reason: "invalid" };
    const grant = { tenantId: parsed.data.t, taskId: parsed.data.k, expiresAt: parsed.data.e };
    if (grant.expiresAt * 1000 <= now.getTime()) return { ok: false, reason: "expired" };
    return { ok: true, grant };
  }

  private sign(body: string): string {
    return createHmac("sha256", this.key).update(`${PREFIX}.${body}`, "utf8").digest("base64url");
  }
}

/**
 * How long a capability stays good after it is minted: the task's own limit (its tenant's
 * max_task_seconds) plus time for the container to save its changes after the end.
 */
export const CAPABILITY_GRACE_SECONDS = 600;
