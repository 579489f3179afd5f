/**
 * The agent config the tests and benches run: a `root` orchestrator that may start `worker`
 * (plain) and `thinker` (with the think toolset), all on one fake OpenAI-compatible model.
 */
export function testConfig(baseUrl: string, options: { thinkerMaxIterations?: number } = {}): string {
  return `
version: "2"
models:
  fake:
    provider: openai
    model: fake-model
    base_url: ${baseUrl}
agents:
  root:
    model: fake
    sub_agents: [worker, thinker]
  worker:
    model: fake
    description: does one thing
    instruction: You are a worker.
  thinker:
    model: fake
    instruction: You think before you answer.
    toolsets:
      - type: think
    max_iterations: ${options.thinkerMaxIterations ?? 6}
`;
}
