import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { missingKeyWarnings } from "../../local/missing-keys.js";
import { parseAgentConfig } from "../../shared/agent-config.js";

const config = (yaml: string) => parseAgentConfig(yaml);
const example = (name: string) =>
  parseAgentConfig(readFileSync(new URL(`../../examples/${name}`, import.meta.url), "utf8"));

describe("missing provider keys at start (npm start)", () => {
  it("names the agents, the model and the variable once per model, and how to fix it", () => {
    const warnings = missingKeyWarnings(example("local.yaml"), {});
    expect(warnings).toEqual([
      "OPENAI_API_KEY is not set: tasks of agents researcher, writer (model openai/gpt-4o-mini) will fail. " +
        "Set OPENAI_API_KEY, or give the model a base_url of an OpenAI-compatible server (e.g. Ollama; see examples/ollama.yaml).",
    ]);
  });

  it("is silent when the key is set, and counts an empty value as unset", () => {
    expect(missingKeyWarnings(example("local.yaml"), { OPENAI_API_KEY: "sk-test" })).toEqual([]);
    expect(missingKeyWarnings(example("local.yaml"), { OPENAI_API_KEY: "" })).toHaveLength(1);
  });

  it("needs no key for a model with a base_url (examples/ollama.yaml)", () => {
    expect(missingKeyWarnings(example("ollama.yaml"), {})).toEqual([]);
  });

  it("reads token_key, ANTHROPIC_API_KEY for anthropic, and nothing for amazon-bedrock", () => {
    const c = config(`
models:
  gpt: { provider: openai, model: gpt-4o, token_key: TEAM_OPENAI_KEY }
agents:
  root: { model: openai/gpt-4o, sub_agents: [coder, critic, bedrock] }
  coder: { model: gpt }
  critic: { model: anthropic/claude-sonnet-4-6 }
  bedrock: { model: amazon-bedrock/us.anthropic.claude-sonnet-4-5-20250929-v1:0 }
`);
    const warnings = missingKeyWarnings(c, { OPENAI_API_KEY: "sk-not-this-one" });
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatch(/^TEAM_OPENAI_KEY is not set: tasks of agent coder \(model openai\/gpt-4o\)/);
    expect(warnings[1]).toMatch(
      /^ANTHROPIC_API_KEY is not set: tasks of agent critic \(model anthropic\/claude-sonnet-4-6\) will fail\. Set ANTHROPIC_API_KEY, or give the model a base_url of a compatible server/,
    );
    expect(missingKeyWarnings(c, { TEAM_OPENAI_KEY: "k", ANTHROPIC_API_KEY: "k" })).toEqual([]);
  });

  it("ignores the orchestrator's own model: only agents some agent may start are called", () => {
    const c = config(`
agents:
  root: { model: anthropic/claude-sonnet-4-6, sub_agents: [helper] }
  helper: { model: openai/gpt-4o, sub_agents: [nested] }
  nested: { model: openai/gpt-4o-mini }
  unused: { model: anthropic/claude-sonnet-4-6 }
`);
    const warnings = missingKeyWarnings(c, {});
    expect(warnings).toHaveLength(2);
    expect(warnings.join("\n")).not.toContain("ANTHROPIC_API_KEY");
    expect(warnings[0]).toContain("agent helper (model openai/gpt-4o)");
    expect(warnings[1]).toContain("agent nested (model openai/gpt-4o-mini)");
  });
});
