import type { Hook } from "@hono/zod-openapi";
import { InvalidArgumentsError, InvalidRequestError } from "../../shared/domain/errors.js";

/** Turns a zod validation failure into a 400 with every problem named. */
// biome-ignore lint/suspicious/noExplicitAny: the hook is generic over every route's env and schema
export const validationHook: Hook<any, any, any, any> = (result, c) => {
  if (result.success) return;
  const problems = result.error.issues.map((i) => `${i.path.join(".") || result.target}: ${i.message}`);
  const message = `invalid ${result.target}: ${problems.join("; ")}`;
  if (result.target === "json" && c.req.path.startsWith("/v1/tools/"))
    throw new InvalidArgumentsError(message);
  throw new InvalidRequestError(message);
};
