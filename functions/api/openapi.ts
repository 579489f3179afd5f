import type { Context, Env, Hono } from "hono";
import * as z from "zod";
import { InvalidArgumentsError, InvalidRequestError } from "../../shared/domain/errors.js";

/**
 * Routes described once, for both request validation and the OpenAPI 3.1 document: a few lines
 * on plain Hono and zod instead of @hono/zod-openapi, which made the API bundle carry a second
 * zod toolchain (and zod's every locale) into every cold start. The document is built on its
 * first request with zod's own `z.toJSONSchema`.
 */

type Schema = z.ZodType;
type Method = "get" | "post" | "put" | "patch" | "delete";

export interface ResponseSpec {
  description: string;
  /** A zod schema, or a plain JSON Schema for bodies zod does not describe (an SSE stream). */
  schema?: Schema | Record<string, unknown>;
  /** Default `application/json`. */
  contentType?: string;
}

export interface RouteSpec<
  P extends Schema | undefined = Schema | undefined,
  Q extends Schema | undefined = Schema | undefined,
  H extends Schema | undefined = Schema | undefined,
  B extends Schema | undefined = Schema | undefined,
> {
  method: Method;
  /** OpenAPI form: `/v1/tasks/{id}`. */
  path: string;
  summary: string;
  security?: Record<string, string[]>[];
  request?: {
    params?: P;
    query?: Q;
    headers?: H;
    /** `required: false`: an empty body is read as `{}`. */
    body?: { schema: B; required: boolean };
  };
  responses: Record<number, ResponseSpec>;
}

type Out<S> = S extends Schema ? z.output<S> : undefined;

/** What a handler gets: each part of the request, already validated. */
export interface RouteInput<P, Q, H, B> {
  param: Out<P>;
  query: Out<Q>;
  header: Out<H>;
  json: Out<B>;
}

type Target = keyof RouteInput<unknown, unknown, unknown, unknown>;

/** How an error message names each part of the request. */
const TARGET_NAMES: Record<Target, string> = {
  param: "path parameters",
  query: "query",
  header: "headers",
  json: "request body",
};

function parse(schema: Schema, value: unknown, target: Target, path: string): unknown {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const message = `invalid ${TARGET_NAMES[target]}:\n${z.prettifyError(result.error)}`;
  // The tool gateway's own code for arguments that do not fit a tool (SPEC §4).
  if (target === "json" && path.startsWith("/v1/tools/")) throw new InvalidArgumentsError(message);
  throw new InvalidRequestError(message);
}

/** A repeated parameter is an array (which a scalar schema refuses), like Hono's validator. */
function queryValues(c: Context): Record<string, string | string[]> {
  return Object.fromEntries(
    Object.entries(c.req.queries()).map(([k, v]) => [k, v.length === 1 ? (v[0] as string) : v]),
  );
}

async function readBody(c: Context, required: boolean): Promise<unknown> {
  const text = await c.req.text();
  if (!text.trim()) {
    if (required) throw new InvalidRequestError("invalid json: a JSON request body is required");
    return {};
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new InvalidRequestError("invalid json: the request body is not valid JSON");
  }
}

async function readInput(c: Context, spec: RouteSpec): Promise<Record<Target, unknown>> {
  const r = spec.request ?? {};
  const path = c.req.path;
  return {
    param: r.params ? parse(r.params, c.req.param(), "param", path) : undefined,
    query: r.query ? parse(r.query, queryValues(c), "query", path) : undefined,
    header: r.headers ? parse(r.headers, c.req.header(), "header", path) : undefined,
    json: r.body?.schema ? parse(r.body.schema, await readBody(c, r.body.required), "json", path) : undefined,
  };
}

/** The routes of one Hono app and what the OpenAPI document says of them. */
export class OpenApiRoutes<E extends Env> {
  private readonly specs: RouteSpec[] = [];
  private readonly securitySchemes: Record<string, Record<string, unknown>> = {};
  private doc: Record<string, unknown> | undefined;

  /**
   * `documentIn`: the routes whose document describes these too (a sub-app loaded later, whose
   * routes belong in the main app's document).
   */
  constructor(
    private readonly app: Hono<E>,
    private readonly documentIn?: OpenApiRoutes<E>,
  ) {}

  /** Registers `handler` for the route, behind validation of every part the spec names. */
  route<
    P extends Schema | undefined = undefined,
    Q extends Schema | undefined = undefined,
    H extends Schema | undefined = undefined,
    B extends Schema | undefined = undefined,
  >(
    spec: RouteSpec<P, Q, H, B>,
    handler: (c: Context<E>, input: RouteInput<P, Q, H, B>) => Response | Promise<Response>,
  ): void {
    this.describe(spec);
    const honoPath = spec.path.replace(/\{([^}]+)\}/g, ":$1");
    this.app.on(spec.method.toUpperCase(), honoPath, async (c) =>
      handler(c, (await readInput(c, spec as RouteSpec)) as RouteInput<P, Q, H, B>),
    );
  }

  /** Adds a route to the document only (for routes served some other way, e.g. MCP). */
  describe(spec: RouteSpec): void {
    if (this.documentIn) {
      this.documentIn.describe(spec);
      return;
    }
    this.specs.push(spec as RouteSpec);
    this.doc = undefined;
  }

  securityScheme(name: string, scheme: Record<string, unknown>): void {
    this.securitySchemes[name] = scheme;
    this.doc = undefined;
  }

  /** The OpenAPI 3.1 document; built once, on first use. */
  document(info: { title: string; version: string }): Record<string, unknown> {
    this.doc ??= buildDocument(info, this.specs, this.securitySchemes);
    return this.doc;
  }
}

/**
 * JSON Schema of a zod schema; named schemas (`.meta({ id })`) go to `components`. Requests are
 * described as they are read (`io: "input"`), responses as they are written.
 */
function jsonSchema(
  schema: Schema | Record<string, unknown>,
  io: "input" | "output",
  components: Record<string, unknown>,
): Record<string, unknown> {
  if (!(schema instanceof z.ZodType)) return schema;
  const {
    $schema: _,
    $defs,
    ...rest
  } = z.toJSONSchema(schema, { io, unrepresentable: "any" }) as Record<string, unknown>;
  const relink = (value: unknown) =>
    JSON.parse(JSON.stringify(value).replaceAll('"#/$defs/', '"#/components/schemas/')) as Record<
      string,
      unknown
    >;
  for (const [name, def] of Object.entries(($defs as Record<string, unknown>) ?? {})) {
    components[name] ??= relink(def);
  }
  return relink(rest);
}

function parameters(
  schema: Schema | undefined,
  where: "path" | "query" | "header",
  components: Record<string, unknown>,
) {
  if (!(schema instanceof z.ZodObject)) return [];
  return Object.entries(schema.shape as Record<string, Schema>).map(([name, field]) => ({
    name,
    in: where,
    required: where === "path" || !field.safeParse(undefined).success,
    schema: jsonSchema(field, "input", components),
  }));
}

function buildDocument(
  info: { title: string; version: string },
  specs: RouteSpec[],
  securitySchemes: Record<string, Record<string, unknown>>,
): Record<string, unknown> {
  const schemas: Record<string, unknown> = {};
  const paths: Record<string, Record<string, unknown>> = {};
  for (const spec of specs) {
    const r = spec.request ?? {};
    const operation: Record<string, unknown> = { summary: spec.summary };
    if (spec.security) operation.security = spec.security;
    const params = [
      ...parameters(r.params, "path", schemas),
      ...parameters(r.query, "query", schemas),
      ...parameters(r.headers, "header", schemas),
    ];
    if (params.length > 0) operation.parameters = params;
    if (r.body?.schema) {
      operation.requestBody = {
        required: r.body.required,
        content: { "application/json": { schema: jsonSchema(r.body.schema, "input", schemas) } },
      };
    }
    operation.responses = Object.fromEntries(
      Object.entries(spec.responses).map(([status, res]) => [
        status,
        res.schema
          ? {
              description: res.description,
              content: {
                [res.contentType ?? "application/json"]: {
                  schema: jsonSchema(res.schema, "output", schemas),
                },
              },
            }
          : { description: res.description },
      ]),
    );
    paths[spec.path] ??= {};
    paths[spec.path]![spec.method] = operation;
  }
  return { openapi: "3.1.0", info, paths, components: { schemas, securitySchemes } };
}

/** Declares a route spec, keeping its schemas' types for the handler's input. */
export function defineRoute<
  P extends Schema | undefined = undefined,
  Q extends Schema | undefined = undefined,
  H extends Schema | undefined = undefined,
  B extends Schema | undefined = undefined,
>(spec: RouteSpec<P, Q, H, B>): RouteSpec<P, Q, H, B> {
  return spec;
}
