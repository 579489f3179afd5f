import { Hono, type NotFoundHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { PayloadTooLargeError } from "../../shared/domain/errors.js";
import type { Logger } from "../../shared/use-cases/task-service.js";
import type { TenantAdmin } from "../../shared/use-cases/tenant-admin.js";
import { requireAdmin, requireTenant } from "./auth.js";
import type { ApiDeps, ApiEnv } from "./context.js";
import { errorResponse, makeErrorHandler } from "./errors.js";
import { OpenApiRoutes } from "./openapi.js";
import { originGuard } from "./origin-guard.js";
import { agentsRoutes } from "./routes/agents.js";
import { INTERNAL_HARNESS_PREFIX, internalHarnessRoutes } from "./routes/internal-harness.js";
import { mcpRoutes } from "./routes/mcp.js";
import { tasksRoutes } from "./routes/tasks.js";
import { toolsRoutes } from "./routes/tools.js";

export const MAX_BODY_BYTES = 1024 * 1024;

/** Known paths and their methods: a known path with another method is 405, anything else 404. */
const KNOWN_ROUTES: [RegExp, string[]][] = [
  [/^\/healthz$/, ["GET"]],
  [/^\/openapi\.json$/, ["GET"]],
  [/^\/mcp$/, ["POST"]],
  [/^\/v1\/tools$/, ["GET"]],
  [/^\/v1\/tools\/[^/]+$/, ["POST"]],
  [/^\/v1\/agents$/, ["GET"]],
  [/^\/v1\/tasks$/, ["GET", "POST"]],
  [/^\/v1\/tasks\/[^/]+$/, ["GET"]],
  [/^\/v1\/tasks\/[^/]+\/(output|events)$/, ["GET"]],
  [/^\/v1\/tasks\/[^/]+\/stop$/, ["POST"]],
  [/^\/console(\/app\.(js|css))?$/, ["GET"]],
  [/^\/v1\/admin\/tenants$/, ["GET", "POST"]],
  [/^\/v1\/admin\/tenants\/[^/]+\/config$/, ["PUT"]],
  [/^\/v1\/admin\/tenants\/[^/]+\/limits$/, ["PATCH"]],
  [/^\/v1\/admin\/tenants\/[^/]+\/secrets$/, ["PUT"]],
  [/^\/v1\/admin\/tenants\/[^/]+\/keys$/, ["GET", "POST"]],
  [/^\/v1\/admin\/tenants\/[^/]+\/keys\/[^/]+$/, ["DELETE"]],
  [/^\/v1\/admin\/tenants\/[^/]+\/webhook$/, ["GET", "PUT", "DELETE"]],
  [/^\/v1\/admin\/tenants\/[^/]+\/webhook\/deliveries$/, ["GET"]],
  [/^\/internal\/v1\/harness\/[^/]+\/(claim|flush)$/, ["POST"]],
  [/^\/internal\/v1\/harness\/[^/]+\/status$/, ["GET"]],
  [/^\/internal\/v1\/harness\/[^/]+\/changes$/, ["PUT"]],
];

const isAdminPath = (path: string) => path === "/v1/admin" || path.startsWith("/v1/admin/");

/** No route for the request: 405 with Allow on a known path, 404 otherwise. */
const notFound: NotFoundHandler = (c) => {
  const known = KNOWN_ROUTES.find(([re]) => re.test(c.req.path));
  if (known) {
    c.header("Allow", known[1].join(", "));
    return errorResponse(c, 405, "method_not_allowed", `${c.req.method} is not allowed on ${c.req.path}`);
  }
  return errorResponse(c, 404, "not_found", `no route: ${c.req.method} ${c.req.path}`);
};

/**
 * The admin API (SPEC §7) as a sub-app built on its first use: its routes and schemas (a tenth
 * of the API's zod schemas) load on the first admin request or OpenAPI read, not at every cold
 * start of a function that mostly serves tenants. Its routes are described in `routes`' document.
 */
function lazyAdminApp(admin: TenantAdmin, routes: OpenApiRoutes<ApiEnv>, log: Logger) {
  let built: Promise<Hono<ApiEnv>> | undefined;
  return () => {
    built ??= import("./routes/admin.js").then(({ adminRoutes }) => {
      const sub = new Hono<ApiEnv>();
      sub.onError(makeErrorHandler(log));
      sub.notFound(notFound);
      adminRoutes(new OpenApiRoutes(sub, routes), admin);
      return sub;
    });
    return built;
  };
}

/**
 * The team console (SPEC §10), built on its first request: its page, script and style sheet
 * (and their compressed forms) are not loaded at a cold start of the API.
 */
function lazyConsoleApp() {
  let built: Promise<Hono> | undefined;
  return () => {
    built ??= import("./console/routes.js").then(({ consoleApp }) => consoleApp());
    return built;
  };
}

/** The whole HTTP surface: MCP, REST and the tool gateway, one Hono app (SPEC §4). */
export function createApp(deps: ApiDeps) {
  const app = new Hono<ApiEnv>();
  app.onError(makeErrorHandler(deps.log));
  app.notFound(notFound);

  // Before anything else: a foreign Host or Origin gets nothing (DNS rebinding, SPEC §8).
  app.use("*", originGuard(deps.originPolicy ?? { origins: [] }));
  app.use(
    "*",
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: () => {
        throw new PayloadTooLargeError(MAX_BODY_BYTES);
      },
    }),
  );

  app.get("/healthz", (c) => c.json({ ok: true, version: deps.version }));

  // A static page: no key needed to load it; its script calls the API with the person's key.
  const consoleApp = lazyConsoleApp();
  app.get("/console", async (c) => (await consoleApp()).fetch(c.req.raw));
  app.get("/console/*", async (c) => (await consoleApp()).fetch(c.req.raw));

  const auth = requireTenant(deps.tenants);
  const adminAuth = requireAdmin(deps.admin?.token, deps.tenants);
  app.use("/v1/*", (c, next) => (isAdminPath(c.req.path) ? adminAuth(c, next) : auth(c, next)));
  app.use("/mcp", auth);

  const routes = new OpenApiRoutes(app);
  tasksRoutes(routes, deps);
  agentsRoutes(routes);
  toolsRoutes(routes, deps);
  mcpRoutes(app, routes, deps);
  // Harness containers, each with its own task's capability (not a tenant key): SPEC §9.
  if (deps.harness) app.route(INTERNAL_HARNESS_PREFIX, internalHarnessRoutes(deps.harness));
  const adminApp = deps.admin ? lazyAdminApp(deps.admin.service, routes, deps.log) : undefined;
  if (adminApp) {
    // After the admin check above; the body limit has already wrapped the request.
    app.all("/v1/admin/*", async (c) => (await adminApp()).fetch(c.req.raw, c.env));
  }

  routes.securityScheme("bearer", { type: "http", scheme: "bearer" });
  routes.securityScheme("admin", {
    type: "http",
    scheme: "bearer",
    description: "the admin token (BGA_ADMIN_TOKEN locally, a Secrets Manager secret in the cloud)",
  });
  routes.describe({
    method: "get",
    path: "/healthz",
    summary: "Liveness",
    responses: { 200: { description: "The service is up" } },
  });
  app.get("/openapi.json", async (c) => {
    await adminApp?.(); // its routes describe themselves when it is built
    return c.json(routes.document({ title: "Background Agents Cloud", version: deps.version }));
  });
  return app;
}

export type App = ReturnType<typeof createApp>;
