import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseAgentConfig } from "../../shared/agent-config.js";
import { InvalidConfigError } from "../../shared/domain/errors.js";

const fixture = (name: string) =>
  readFileSync(new URL(`../fixtures/docker-agent/${name}`, import.meta.url), "utf8");

describe("configs in the format of Docker's agent runtime", () => {
  it("load unchanged when the dispatched agents use supported providers and toolsets", () => {
    const solo = parseAgentConfig(fixture("solo-bedrock.yaml"));
    expect(solo.agents.root?.model).toMatchObject({
      provider: "amazon-bedrock",
      region: "eu-west-1",
      max_tokens: 4000,
    });
    expect(solo.agents.root?.toolsets).toEqual([]); // the orchestrator's own toolsets are ignored

    const team = parseAgentConfig(fixture("research-team.yaml"));
    expect(Object.keys(team.agents)).toEqual(["root", "analyst", "librarian"]);
    expect(team.agents.analyst?.toolsets).toEqual([{ type: "think" }]);
    expect(team.agents.librarian?.model).toEqual({ provider: "anthropic", model: "claude-haiku-4-5" });
    expect(team.agents.librarian?.toolsets).toEqual([
      {
        type: "mcp",
        remote: {
          url: "https://search.example.com/mcp",
          transport_type: "streamable",
          headers: { Authorization: "Bearer ${env.SEARCH_API_KEY}" },
        },
      },
      { type: "background_agents" },
    ]);
  });

  it("refuse agents that need what a managed service cannot run, naming agent, toolset and supported types", () => {
    let problems: { path: string; reason: string }[] = [];
    try {
      parseAgentConfig(fixture("local-tools-team.yaml"));
    } catch (err) {
      if (err instanceof InvalidConfigError) problems = err.problems;
    }
    const supported = "supported toolset types: think, mcp, background_agents";
    expect(problems).toEqual([
      {
        path: "agents.designer.toolsets.1.type",
        reason: `agent "designer" uses toolset "filesystem", which is not supported; ${supported}`,
      },
      {
        path: "agents.engineer.toolsets.0.type",
        reason: `agent "engineer" uses toolset "shell", which is not supported; ${supported}`,
      },
      {
        path: "agents.engineer.toolsets.1",
        reason:
          'agent "engineer" uses an mcp toolset without remote.url; only remote MCP servers (remote: {url, transport_type, headers}) are supported',
      },
    ]);
  });
});

describe("harness sub-agents in the format of Docker's agent runtime (SPEC §9)", () => {
  it("coding_harness_background_agents.yaml loads unchanged", () => {
    const config = parseAgentConfig(fixture("coding-harness-background-agents.yaml"));
    expect(config.agents.root?.kind).toBeUndefined();
    expect(config.agents.root?.sub_agents).toEqual(["claude", "codex"]);
    expect(config.agents.claude).toMatchObject({
      kind: "harness",
      harness: { type: "claude-code", effort: "medium", args: [], env: {}, timeout_seconds: 600 },
      sub_agents: [],
      toolsets: [],
    });
    expect(config.agents.claude?.model).toBeUndefined();
    expect(config.agents.codex?.harness).toMatchObject({ type: "codex", effort: "medium" });
  });
});
