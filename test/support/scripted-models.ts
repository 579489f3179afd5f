/**
 * Scripted model servers for trying harness agents without a provider account:
 *
 *   npx tsx test/support/scripted-models.ts      # prints the variables to export, runs until Ctrl-C
 *
 * A Messages API (for Claude Code) and a Responses API (for Codex) on loopback. Each task's first
 * model call asks the CLI to run a shell command that writes `hello.txt` in its workspace; the
 * next call answers "Done: wrote hello.txt." (so `bga changes <id> | git apply` has a patch).
 */
import { pathToFileURL } from "node:url";
import { FakeAnthropic } from "./fake-anthropic.js";
import { FakeOpenAIResponses } from "./fake-openai-responses.js";

export const SCRIPTED_COMMAND = "printf 'hello from a harness agent\\n' > hello.txt && ls";

export async function startScriptedModels(): Promise<{
  anthropic: FakeAnthropic;
  openai: FakeOpenAIResponses;
}> {
  const anthropic = await new FakeAnthropic().start();
  anthropic.setResponder((r) =>
    JSON.stringify(r.body.messages).includes("tool_result")
      ? { text: ["Done: ", "wrote hello.txt."] }
      : {
          text: "Writing hello.txt.",
          toolCalls: [{ name: "Bash", input: JSON.stringify({ command: SCRIPTED_COMMAND }) }],
        },
  );
  const openai = await new FakeOpenAIResponses().start();
  openai.setResponder((r) =>
    JSON.stringify(r.body.input).includes("function_call_output")
      ? { text: "Done: wrote hello.txt." }
      : {
          text: "Writing hello.txt.",
          toolCalls: [{ name: "exec_command", arguments: JSON.stringify({ cmd: SCRIPTED_COMMAND }) }],
        },
  );
  return { anthropic, openai };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { anthropic, openai } = await startScriptedModels();
  process.stdout.write(
    [
      `export ANTHROPIC_BASE_URL=${anthropic.url} ANTHROPIC_API_KEY=sk-ant-scripted`,
      `export OPENAI_BASE_URL=${openai.url} OPENAI_API_KEY=sk-scripted`,
      "",
    ].join("\n"),
  );
  const end = async () => {
    await Promise.all([anthropic.close(), openai.close()]);
    process.exit(0);
  };
  process.on("SIGINT", end);
  process.on("SIGTERM", end);
}
