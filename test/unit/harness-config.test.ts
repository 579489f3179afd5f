import { describe, expect, it } from "vitest";
import { type ParseConfigOptions, parseAgentConfig } from "../../shared/agent-config.js";
import { agentKind } from "../../shared/agent-spec.js";
import { InvalidConfigError } from "../../shared/domain/errors.js";

function problems(yaml: string, options: ParseConfigOptions = {}): { path: string; reason: string }[] {
  try {
    parseAgentConfig(yaml, options);
  } catch (err) {
    if (err instanceof InvalidConfigError) return err.problems;
    throw err;
  }
  throw new Error("expected an invalid config");
}

const withCoder = (harness: string) => `
agents:
  root:
    model: openai/gpt-4o
    sub_agents: [coder]
  coder:
    harness:
${harness
  .trim()
  .split("\n")
  .map((l) => `      ${l}`)
  .join("\n")}
`;

describe("the harness: block (SPEC §9)", () => {
  it("parses every key Docker's runtime knows", () => {
    const config = parseAgentConfig(
      withCoder(`
type: claude-code
effort: high
args: [--model, claude-sonnet-4-5]
env:
  ANTHROPIC_API_KEY: \${env.ANTHROPIC_API_KEY}
  RETRIES: 3
timeout: 1h30m
config: {includeCoAuthoredBy: false}
permission_policy: {mode: auto_allow}
workspace:
  git: https://github.com/acme/shop.git
  ref: main
  token: \${env.GIT_TOKEN}
  push: true
`),
    );
    const coder = config.agents.coder!;
    expect(agentKind(coder)).toBe("harness");
    expect(coder.harness).toEqual({
      type: "claude-code",
      effort: "high",
      args: ["--model", "claude-sonnet-4-5"],
      env: { ANTHROPIC_API_KEY: "${env.ANTHROPIC_API_KEY}", RETRIES: "3" },
      timeout_seconds: 5400,
      config: { includeCoAuthoredBy: false },
      workspace: {
        git: "https://github.com/acme/shop.git",
        ref: "main",
        token: "${env.GIT_TOKEN}",
        push: true,
      },
    });
  });

  it("refuses permission modes a background task cannot honour, naming the agent and why", () => {
    for (const mode of ["ask", "deny_all"]) {
      const found = problems(withCoder(`type: codex\npermission_policy: {mode: ${mode}}`));
      expect(found).toEqual([
        {
          path: "agents.coder.harness.permission_policy",
          reason: expect.stringMatching(
            new RegExp(`agent "coder": permission_policy mode "${mode}" is refused: .+`),
          ),
        },
      ]);
    }
  });

  it("refuses unknown types and keys, bad durations and sub_agents on a harness agent, every problem with its path", () => {
    const found = problems(`
agents:
  root:
    model: openai/gpt-4o
    sub_agents: [a, b, c]
  a:
    sub_agents: [b]
    harness: {type: claude-code, timeout: soon, colour: blue}
  b:
    harness: {type: aider}
  c:
    description: neither model nor harness
`);
    expect(found).toEqual(
      expect.arrayContaining([
        { path: "agents.a.harness.colour", reason: 'unknown key "colour"' },
        { path: "agents.a.harness.timeout", reason: expect.stringContaining('not a duration: "soon"') },
        { path: "agents.a.sub_agents", reason: expect.stringContaining("harness agent") },
        { path: "agents.b.harness.type", reason: "must be one of: claude-code, codex" },
        { path: "agents.c.model", reason: "an agent needs a model: or a harness:" },
      ]),
    );
    expect(found).toHaveLength(5);
  });

  it("allows command, working_dir and a local repository only for the local default tenant", () => {
    const local = withCoder(
      `type: claude-code\ncommand: /opt/claude\nworking_dir: /src/app\nworkspace: {git: /srv/repo.git}`,
    );
    expect(parseAgentConfig(local, { localTenant: true }).agents.coder?.harness).toMatchObject({
      command: "/opt/claude",
      working_dir: "/src/app",
      workspace: { git: "/srv/repo.git", push: false },
    });
    const found = problems(local);
    expect(found.map((p) => p.path)).toEqual([
      "agents.coder.harness.command",
      "agents.coder.harness.working_dir",
      "agents.coder.harness.workspace.git",
    ]);
    expect(found[0]?.reason).toContain("only for the local default tenant");
    expect(problems(withCoder("type: codex\nworkspace: {git: 'file:///srv/repo.git'}"))[0]?.reason).toContain(
      "use an https:// URL",
    );
  });

  it("holds workspace.git to https:// and the private-network rule", () => {
    const cloud = { allowPrivateNetwork: false };
    expect(
      problems(withCoder("type: codex\nworkspace: {git: 'http://github.com/a/b.git'}"), cloud)[0],
    ).toEqual({
      path: "agents.coder.harness.workspace.git",
      reason: expect.stringContaining("not an https:// URL"),
    });
    expect(
      problems(withCoder("type: codex\nworkspace: {git: 'git@github.com:a/b.git'}"), cloud)[0]?.reason,
    ).toContain("https://");
    for (const host of ["127.0.0.1", "10.0.0.8", "[::1]", "localhost", "169.254.169.254"]) {
      expect(
        problems(withCoder(`type: codex\nworkspace: {git: 'https://${host}/a/b.git'}`), cloud)[0]?.reason,
      ).toMatch(/loopback|private|link-local/);
    }
    expect(
      problems(withCoder("type: codex\nworkspace: {git: 'https://user:secret@github.com/a/b.git'}"), cloud)[0]
        ?.reason,
    ).toContain("workspace.token");
    expect(() =>
      parseAgentConfig(withCoder("type: codex\nworkspace: {git: 'https://github.com/a/b.git'}"), cloud),
    ).not.toThrow();
  });
});
