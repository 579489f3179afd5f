import { readFileSync } from "node:fs";
import { isBuiltin } from "node:module";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { describe, expect, it } from "vitest";

/**
 * The harness image (Dockerfile, .dockerignore) without a Docker engine (none runs here): what
 * its entrypoint imports must be in the build context and among the production dependencies
 * that `npm ci --omit=dev` installs in it, and the lockfile must name both CLIs' linux-arm64
 * binaries (Fargate runs the image on arm64).
 */

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const read = (file: string) => readFileSync(`${ROOT}${file}`, "utf8");
const packageJson = JSON.parse(read("package.json")) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
const lock = JSON.parse(read("package-lock.json")) as { packages: Record<string, { version?: string }> };

/** .dockerignore as Docker reads it here: `**` excludes all, `!` lines let files back in, later lines win. */
function inBuildContext(path: string): boolean {
  let included = true;
  for (const raw of read(".dockerignore").split("\n")) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const negated = line.startsWith("!");
    const pattern = negated ? line.slice(1) : line;
    if (matches(pattern, path)) included = negated;
  }
  return included;
}

function matches(pattern: string, path: string): boolean {
  if (pattern === "**") return true;
  if (pattern.endsWith("/**")) return path.startsWith(pattern.slice(0, -2));
  if (pattern.startsWith("**/*")) return path.endsWith(pattern.slice(4));
  return path === pattern;
}

/** The package of a bare import: `@scope/name/x` → `@scope/name`, `name/x` → `name`. */
const packageOf = (specifier: string) =>
  specifier
    .split("/")
    .slice(0, specifier.startsWith("@") ? 2 : 1)
    .join("/");

describe("the harness image", () => {
  it("copies every file its entrypoint loads, and installs every package it imports", async () => {
    const dockerfile = read("Dockerfile");
    expect(dockerfile).toContain("npm ci --omit=dev");
    expect(dockerfile).toMatch(/ENTRYPOINT \["node", "--import", "tsx", "functions\/harness\/main\.ts"\]/);

    const result = await build({
      entryPoints: [`${ROOT}functions/harness/main.ts`],
      absWorkingDir: ROOT,
      bundle: true,
      packages: "external",
      platform: "node",
      format: "esm",
      write: false,
      metafile: true,
      logLevel: "silent",
    });
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs).toContain("functions/harness/main.ts");
    expect(inputs.filter((file) => !inBuildContext(file))).toEqual([]);

    const packages = new Set(
      Object.values(result.metafile.inputs)
        .flatMap((input) => input.imports)
        .filter((i) => i.external && !isBuiltin(i.path))
        .map((i) => packageOf(i.path)),
    );
    // The runner's own imports, the loader the ENTRYPOINT names, and the CLIs it runs.
    for (const pkg of [...packages, "tsx", "@anthropic-ai/claude-code", "@openai/codex"]) {
      expect(packageJson.dependencies, `${pkg} is a production dependency`).toHaveProperty(pkg);
    }
    expect(packages.size).toBeGreaterThan(0);
    // tsx reads the tsconfig the image copies.
    expect(inBuildContext("tsconfig.json")).toBe(true);
    expect(inBuildContext("test/unit/domain.test.ts")).toBe(false);
    expect(inBuildContext("shared/harness/run-harness.test.ts")).toBe(false);
  });

  it("has both CLIs' linux-arm64 binaries in the lockfile at the pinned versions", () => {
    const claude = packageJson.dependencies["@anthropic-ai/claude-code"];
    const codex = packageJson.dependencies["@openai/codex"];
    expect(lock.packages["node_modules/@anthropic-ai/claude-code-linux-arm64"]?.version).toBe(claude);
    expect(lock.packages["node_modules/@openai/codex-linux-arm64"]?.version).toBe(`${codex}-linux-arm64`);
  });
});
