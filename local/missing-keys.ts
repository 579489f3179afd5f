import type { AgentConfig, ModelSpec } from "../shared/agent-spec.js";

/**
 * Start-up warnings of `npm start` for provider keys the default tenant's agents need and the
 * environment does not hold (the local default tenant reads its keys from the process
 * environment). Pure: the parsed config and the environment in, one line per missing key out.
 */

/** Where a model's API key is read from, or undefined when it needs none. */
export function providerKeyVariable(model: ModelSpec): string | undefined {
  // With a base_url the openai and anthropic clients send a placeholder when no key is set:
  // local compatible servers (Ollama, vLLM) need none.
  if (model.base_url) return undefined;
  switch (model.provider) {
    case "openai":
      return model.token_key ?? "OPENAI_API_KEY";
    case "anthropic":
      return model.token_key ?? "ANTHROPIC_API_KEY";
    default:
      // amazon-bedrock signs with the AWS credential chain.
      return undefined;
  }
}

/** Agents some agent may start: the only ones whose model the service calls. */
function dispatchableAgents(config: AgentConfig): string[] {
  const names = new Set<string>();
  for (const agent of Object.values(config.agents)) {
    for (const sub of agent.sub_agents) if (config.agents[sub]) names.add(sub);
  }
  return [...names];
}

/** One warning per model and variable, naming the agents whose tasks would fail. */
export function missingKeyWarnings(config: AgentConfig, env: Record<string, string | undefined>): string[] {
  const missing = new Map<string, { variable: string; model: ModelSpec; agents: string[] }>();
  for (const name of dispatchableAgents(config)) {
    // A harness agent's CLI takes its keys from its own `env:`, not from a model of the config.
    const model = config.agents[name]?.model;
    if (!model) continue;
    const variable = providerKeyVariable(model);
    if (!variable || env[variable]) continue;
    const key = `${variable} ${model.provider}/${model.model}`;
    const entry = missing.get(key) ?? { variable, model, agents: [] };
    entry.agents.push(name);
    missing.set(key, entry);
  }
  return [...missing.values()].map(({ variable, model, agents }) => {
    const who = `${agents.length === 1 ? "agent" : "agents"} ${agents.join(", ")}`;
    const server = model.provider === "openai" ? "an OpenAI-compatible server" : "a compatible server";
    return (
      `${variable} is not set: tasks of ${who} (model ${model.provider}/${model.model}) will fail. ` +
      `Set ${variable}, or give the model a base_url of ${server} (e.g. Ollama; see examples/ollama.yaml).`
    );
  });
}
