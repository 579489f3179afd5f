import { describe, expect, it } from "vitest";
import { parseAgentConfig, subAgentsOf } from "../../shared/agent-config.js";
import { InvalidConfigError } from "../../shared/domain/errors.js";
import { resolveEnvRefs } from "../../shared/env-refs.js";

function problems(yaml: string): { path: string; reason: string }[] {
  try {
    parseAgentConfig(yaml);
  } catch (err) {
    if (err instanceof InvalidConfigError) return err.problems;
    throw err;
  }
  throw new Error("expected an invalid config");
}

describe("agent config (Docker agent runtime format)", () => {
  it("reads agents, models by key and provider/model strings, and ignores runtime keys it does not use", () => {
    const config = parseAgentConfig(`
version: "2"
models:
  local:
    provider: openai
    model: llama3
    base_url: http://127.0.0.1:11434/v1
    max_tokens: 500
    temperature: 0.2
agents:
  root:
    model: openai/gpt-4o
    sub_agents: [helper]
    add_date: true
    toolsets:
      - type: filesystem
  helper:
    model: local
    description: helps
    instruction: Be helpful.
    max_iterations: 7
    toolsets:
      - type: think
`);
    expect(config.agents.root?.model).toEqual({ provider: "openai", model: "gpt-4o" });
    expect(config.agents.helper).toEqual({
      name: "helper",
      description: "helps",
      instruction: "Be helpful.",
      model: {
        provider: "openai",
        model: "llama3",
        base_url: "http://127.0.0.1:11434/v1",
        max_tokens: 500,
        temperature: 0.2,
      },
      sub_agents: [],
      toolsets: [{ type: "think" }],
      max_iterations: 7,
    });
    // The orchestrator's own toolsets are never run here, so they are ignored.
    expect(config.agents.root?.toolsets).toEqual([]);
    expect(subAgentsOf(config, "root")).toEqual(["helper"]);
    expect(subAgentsOf(config, "nobody")).toEqual([]);
  });

  it("lists every problem with its path", () => {
    const found = problems(`
agents:
  root:
    model: openai/gpt-4o
    sub_agents: [ghost, worker, coder]
  worker:
    model: nomodel
    toolsets:
      - type: shell
  coder:
    model: gemini/gemini-2.5-pro
    harness:
      type: aider
`);
    expect(found).toEqual(
      expect.arrayContaining([
        { path: "agents.root.sub_agents.0", reason: 'names no agent: "ghost"' },
        { path: "agents.worker.model", reason: expect.stringContaining('unknown model "nomodel"') },
        {
          path: "agents.worker.toolsets.0.type",
          reason: expect.stringMatching(
            /agent "worker" uses toolset "shell".*supported toolset types: think/,
          ),
        },
        // A harness agent's model is not used; its harness type must be one the service runs.
        { path: "agents.coder.harness.type", reason: "must be one of: claude-code, codex" },
      ]),
    );
    expect(found).toHaveLength(4);
  });

  it("reports unknown keys and sub_agents cycles, and accepts the runtime's own keys", () => {
    const found = problems(`
version: "2"
agents:
  root:
    model: openai/gpt-4o
    sub_agents: [a]
    colour: blue
  a:
    model: openai/gpt-4o
    sub_agents: [b]
    add_environment_info: true
    num_history_items: 5
  b:
    model: openai/gpt-4o
    sub_agents: [a]
models:
  m:
    provider: openai
    model: x
    base_url: ftp://nope
    top_p: 0.5
    flavour: 1
surprise: true
`);
    expect(found).toEqual(
      expect.arrayContaining([
        { path: "agents.root.colour", reason: 'unknown key "colour"' },
        { path: "models.m.flavour", reason: 'unknown key "flavour"' },
        { path: "surprise", reason: 'unknown key "surprise"' },
        { path: "models.m.base_url", reason: "not an http(s) URL" },
        { path: "agents.a.sub_agents", reason: "sub_agents form a cycle: a → b → a" },
      ]),
    );
    expect(found).toHaveLength(5);
  });

  it("resolves ${env.NAME} only from the secrets it is given", () => {
    const secrets = { get: (n: string) => ({ HOST: "models.example" })[n] };
    expect(resolveEnvRefs("https://${env.HOST}/v1", secrets)).toBe("https://models.example/v1");
    expect(() => resolveEnvRefs("https://${env.PATH}/${env.HOME}", secrets)).toThrow(
      "the agent config uses ${env.PATH}, ${env.HOME}, which are not among the tenant's secrets",
    );
  });

  it("rejects what is not a config at all", () => {
    expect(problems("agents: [1, 2")[0]?.path).toBe("(root)");
    expect(problems("models: {}")).toEqual([{ path: "agents", reason: expect.any(String) }]);
    expect(problems("agents:\n  a:\n    description: no model")[0]?.path).toBe("agents.a.model");
  });
});
