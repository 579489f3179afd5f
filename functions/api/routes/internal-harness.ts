import { gunzipSync } from "node:zlib";
import type { Context } from "hono";
import { Hono } from "hono";
import * as z from "zod";
import { byteLength } from "../../../shared/domain/chunk.js";
import { ForbiddenError, InvalidRequestError, UnauthorizedError } from "../../../shared/domain/errors.js";
import { TaskIdSchema } from "../../../shared/domain/task.js";
import { type HarnessChannel, TaskChangesSchema } from "../../../shared/harness/channel.js";
import { FlushBodySchema, INTERNAL_HARNESS_PREFIX } from "../../../shared/harness/http-channel.js";
import type { FlushInput, TaskRepository } from "../../../shared/ports.js";
import type { TaskCapabilities, TaskGrant } from "../../../shared/security/task-capability.js";
import type { TenantDirectory } from "../../../shared/tenants.js";
import type { ApiEnv } from "../context.js";

/**
 * The internal harness routes (SPEC §9 in the cloud): what a harness container reaches, with
 * the capability of its own task as its only credential (shared/security/task-capability.ts).
 * They serve the same repository-backed HarnessChannel the local runner uses in process; the
 * tenant and the task always come from the capability, and a capability for another task than
 * the path's is 403. Not part of the public API (not in the OpenAPI document).
 */

export interface InternalHarnessDeps {
  capabilities: TaskCapabilities;
  /** The repository-backed channel of one task (the tenant is the capability's). */
  channel: (ref: { tenantId: string; taskId: string }) => HarnessChannel;
  /**
   * Where the route reads the task's output so far and its tenant's max_output_bytes: the
   * container's own writer keeps to the limit, but the code in the container is not trusted to.
   */
  limits: { repo: Pick<TaskRepository, "get">; tenants: Pick<TenantDirectory, "get"> };
  now?: () => Date;
}

/** The longest a chunk may be kept: the latest capability expiry + the longest retention (3650 days). */
const MAX_CHUNK_LIFE_SECONDS = 3650 * 86_400;

const TaskParam = z.object({ id: TaskIdSchema });

/**
 * The largest changes body once decompressed. The container gzips it (a patch may be as large as
 * max_output_bytes, and the app takes at most 1 MiB of body, Lambda 6 MB): text patches shrink
 * several times over.
 */
export const MAX_CHANGES_BYTES = 64 * 1024 * 1024;

/** The body's text: as sent, or gunzipped when `Content-Encoding: gzip` (bounded). */
async function bodyText(c: Context, maxBytes: number): Promise<string> {
  const encoding = (c.req.header("content-encoding") ?? "identity").toLowerCase();
  if (encoding === "identity") return c.req.text();
  if (encoding !== "gzip")
    throw new InvalidRequestError(`unsupported Content-Encoding: ${encoding} (gzip or none)`);
  try {
    return gunzipSync(Buffer.from(await c.req.arrayBuffer()), { maxOutputLength: maxBytes }).toString("utf8");
  } catch {
    throw new InvalidRequestError(`the body is not gzip data of at most ${maxBytes} bytes`);
  }
}

function parseBody<S extends z.ZodType>(schema: S, text: string): z.output<S> {
  let json: unknown;
  try {
    json = text.trim() ? JSON.parse(text) : undefined;
  } catch {
    throw new InvalidRequestError("invalid json: the request body is not valid JSON");
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success)
    throw new InvalidRequestError(`invalid request body:\n${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

/**
 * The grant of the request's capability, for the path's task: 401 without one or for a forged,
 * garbled or expired one; 403 for a capability of another task (or another tenant's task).
 */
function authorize(c: Context, deps: InternalHarnessDeps): TaskGrant {
  const header = c.req.header("authorization") ?? "";
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  if (!match?.[1])
    throw new UnauthorizedError("a task capability is required (Authorization: Bearer <capability>)");
  const check = deps.capabilities.verify(match[1], (deps.now ?? (() => new Date()))());
  if (!check.ok) {
    throw new UnauthorizedError(
      check.reason === "expired" ? "the task capability has expired" : "the task capability is not valid",
    );
  }
  const param = TaskParam.safeParse({ id: c.req.param("id") });
  // A path that is not a task ID cannot be the capability's task.
  if (!param.success || param.data.id !== check.grant.taskId) {
    throw new ForbiddenError("the task capability is not for this task");
  }
  return check.grant;
}

export function internalHarnessRoutes(deps: InternalHarnessDeps): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();
  const channelOf = (grant: TaskGrant) => deps.channel({ tenantId: grant.tenantId, taskId: grant.taskId });

  app.post("/:id/claim", async (c) => {
    const grant = authorize(c, deps);
    // A claim carries no body; anything sent is refused rather than ignored.
    parseBody(z.strictObject({}).optional(), await c.req.text());
    const job = await channelOf(grant).claim();
    return c.json({ job }, 200);
  });

  app.post("/:id/flush", async (c) => {
    const grant = authorize(c, deps);
    const body = parseBody(FlushBodySchema, await c.req.text());
    const bytes = body.chunks.reduce((n, chunk) => n + byteLength(chunk.text), 0);
    if (body.addOutputBytes !== bytes) {
      throw new InvalidRequestError(
        `addOutputBytes (${body.addOutputBytes}) must be the chunks' bytes (${bytes})`,
      );
    }
    if (body.chunkExpiresAt !== undefined && body.chunkExpiresAt > grant.expiresAt + MAX_CHUNK_LIFE_SECONDS) {
      throw new InvalidRequestError("chunkExpiresAt is beyond any retention");
    }
    if (bytes > 0) {
      const [task, tenant] = await Promise.all([
        deps.limits.repo.get(grant.tenantId, grant.taskId, true),
        deps.limits.tenants.get(grant.tenantId),
      ]);
      const max = tenant?.limits.max_output_bytes;
      if (task && max !== undefined && task.output_bytes + bytes > max) {
        throw new ForbiddenError(`the task's output would exceed max_output_bytes (${max} bytes)`);
      }
    }
    const input: FlushInput = {
      tenantId: grant.tenantId,
      taskId: grant.taskId,
      expectedLastSeq: body.expectedLastSeq,
      chunks: body.chunks,
      addOutputBytes: body.addOutputBytes,
      usage: body.usage,
      ...(body.chunkExpiresAt !== undefined ? { chunkExpiresAt: body.chunkExpiresAt } : {}),
      ...(body.finish
        ? {
            finish: {
              status: body.finish.status,
              ...(body.finish.result !== undefined ? { result: body.finish.result } : {}),
              ...(body.finish.error !== undefined ? { error: body.finish.error } : {}),
            },
          }
        : {}),
      ...(body.requestToken !== undefined ? { requestToken: body.requestToken } : {}),
      ...(body.at !== undefined ? { at: new Date(body.at) } : {}),
    };
    return c.json(await channelOf(grant).flush(input), 200);
  });

  app.get("/:id/status", async (c) => {
    const grant = authorize(c, deps);
    return c.json({ status: await channelOf(grant).status() }, 200);
  });

  app.put("/:id/changes", async (c) => {
    const grant = authorize(c, deps);
    const changes = parseBody(TaskChangesSchema, await bodyText(c, MAX_CHANGES_BYTES));
    await channelOf(grant).saveChanges(changes);
    return c.body(null, 204);
  });

  return app;
}

export { INTERNAL_HARNESS_PREFIX };
