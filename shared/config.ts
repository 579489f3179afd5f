import * as z from "zod";
import { lazy } from "./lazy.js";

/** BGA_ALLOWED_ORIGINS: origins separated by commas or spaces, each normalised (`https://a.example`). */
export function parseAllowedOrigins(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .filter(Boolean)
    .map((o) => new URL(o).origin);
}

const bool = lazy(() =>
  z.enum(["true", "false", "1", "0", "yes", "no"]).transform((v) => v === "true" || v === "1" || v === "yes"),
);

/** The environment, parsed once per process (cold start). SPEC §8 lists the variables. */
export const EnvSchema = lazy(() =>
  z.object({
    PORT: z.coerce.number().int().min(0).max(65_535).default(8787),
    BGA_DATA_DIR: z.string().min(1).default(".bga"),
    /** Agent config YAML for the single default tenant: a file path, or the YAML text itself. */
    BGA_CONFIG: z.string().min(1).optional(),
    BGA_API_KEY: z.string().min(16, "BGA_API_KEY must be at least 16 characters").optional(),
    BGA_ADMIN_TOKEN: z.string().min(16, "BGA_ADMIN_TOKEN must be at least 16 characters").optional(),
    BGA_DYNAMODB_ENDPOINT: z.url().optional(),
    BGA_TABLE_NAME: z.string().min(3).max(255).default("bga-tasks"),
    BGA_STATE_MACHINE_ARN: z.string().startsWith("arn:").optional(),
    BGA_ALLOW_PRIVATE_NETWORK: bool().optional(),
    /** Browser origins accepted besides the service's own, separated by commas or spaces. */
    BGA_ALLOWED_ORIGINS: z
      .string()
      .default("")
      .transform((text, ctx) => {
        try {
          return parseAllowedOrigins(text);
        } catch {
          ctx.addIssue({
            code: "custom",
            message: "must be origins such as https://app.example.com, separated by commas",
          });
          return z.NEVER;
        }
      }),
    BGA_RUNNER_BUDGET_SECONDS: z.coerce.number().positive().default(600),
    BGA_LOG_LEVEL: z.enum(["debug", "info", "warn", "error", "silent"]).default("info"),
    AWS_REGION: z.string().default("us-east-1"),
  }),
);
export type Env = z.infer<ReturnType<typeof EnvSchema>>;

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

export function loadEnv(source: NodeJS.ProcessEnv = process.env): Env {
  const present = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== undefined && v !== ""));
  const parsed = EnvSchema().safeParse(present);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`);
    throw new ConfigError(`invalid environment:\n${lines.join("\n")}`);
  }
  return parsed.data;
}
