import { PermanentError } from "./domain/errors.js";

/*
 * `${env.NAME}` references of agent configs, resolved from a tenant's secrets. Apart from the
 * config parser (and its YAML library), so the runner can resolve them without loading either.
 */

/** `${env.NAME}` in a config value. */
export const ENV_REF = /\$\{env\.([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** A `${env.NAME}` a config uses that the tenant has no secret for. */
export class MissingSecretError extends PermanentError {
  constructor(readonly names: string[]) {
    super(
      `the agent config uses ${names.map((n) => `\${env.${n}}`).join(", ")}, which ${names.length > 1 ? "are" : "is"} not among the tenant's secrets`,
    );
  }
}

/**
 * Replaces `${env.NAME}` with the tenant's secret NAME. For a tenant in the cloud these come only
 * from its own stored secrets, never from the server's environment.
 */
export function resolveEnvRefs(text: string, secrets: { get(name: string): string | undefined }): string {
  const missing: string[] = [];
  const out = text.replace(ENV_REF, (_, name: string) => {
    const value = secrets.get(name);
    if (value === undefined) missing.push(name);
    return value ?? "";
  });
  if (missing.length) throw new MissingSecretError([...new Set(missing)]);
  return out;
}
