import type { FakeReply } from "../../test/support/fake-openai.js";
import { KIB } from "../report.js";

/**
 * The typical task of the cost model: a 10 KiB prompt (the task text) and 10 model turns of 10 s
 * each (9 `think` tool calls, then the answer), streaming ~50 tokens/s. Stated assumptions.
 */
export const TYPICAL_TASK = {
  promptBytes: 10 * KIB,
  turns: 10,
  deltasPerTurn: 40,
  deltaBytes: 50,
  /** 40 deltas × 250 ms = 10 s per turn. */
  deltaDelayMs: 250,
  /** System prompt and tool definitions, tokens, in every request. */
  systemTokens: 1000,
  /** A think tool call and its result, tokens, added to the context at each tool turn. */
  toolTurnTokens: 60,
  /** Bytes per token of English text. */
  bytesPerToken: 4,
} as const;

export const SECONDS_PER_TURN = (TYPICAL_TASK.deltasPerTurn * TYPICAL_TASK.deltaDelayMs) / 1000;

/*
 * The model's text and the prompt: words drawn from a fixed list by a seeded generator, so they
 * compress about like prose (repeated filler would make gzipped checkpoints unrealistically small).
 */
const WORDS = (
  "the of and to in is that for it as with was on be by this are from or an at which have not " +
  "file test function value error result change code build check update module request response " +
  "data table item query write read flush chunk step state task agent model turn token output " +
  "input retry budget limit status record config tenant handler bundle import export type " +
  "should would could first next then because however therefore instead also only every each " +
  "between before after during while until within without against through across behind"
).split(" ");

function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x1_0000_0000;
  };
}

function prose(random: () => number, bytes: number): string {
  let text = "";
  while (text.length < bytes) {
    const word = WORDS[Math.floor(random() * WORDS.length)] ?? "word";
    text += random() < 0.08 ? `${word}. ` : `${word} `;
  }
  return text.slice(0, bytes);
}

/** The task text: TYPICAL_TASK.promptBytes of prose. */
export function typicalPrompt(): string {
  return prose(prng(20_250_531), TYPICAL_TASK.promptBytes);
}

/** The fake model's replies: TURNS − 1 turns ending in a think call, then the answer. */
export function typicalReplies(): FakeReply[] {
  const t = TYPICAL_TASK;
  const random = prng(20_250_601);
  const turn = (): FakeReply => ({
    text: Array.from({ length: t.deltasPerTurn }, () => prose(random, t.deltaBytes)),
    delayMs: t.deltaDelayMs,
  });
  const replies: FakeReply[] = [];
  for (let i = 1; i < t.turns; i++)
    replies.push({
      ...turn(),
      toolCalls: [{ name: "think", arguments: JSON.stringify({ thought: prose(random, 80) }) }],
    });
  replies.push(turn());
  return replies;
}

/**
 * Model tokens of the task: each request sends the system prompt, the task and every earlier
 * turn (its text and tool call + result); output = the task's output bytes / bytesPerToken.
 */
export function modelTokens(outputBytes: number): { input: number; cached: number; output: number } {
  const t = TYPICAL_TASK;
  const output = Math.round(outputBytes / t.bytesPerToken);
  const perTurn = output / t.turns + t.toolTurnTokens;
  const first = t.systemTokens + t.promptBytes / t.bytesPerToken;
  let input = 0;
  for (let turn = 0; turn < t.turns; turn++) input += first + turn * perTurn;
  // With a prompt cache, each request after the first reads all but the newest turn from it.
  let cached = 0;
  for (let turn = 1; turn < t.turns; turn++) cached += first + (turn - 1) * perTurn;
  return { input: Math.round(input), cached: Math.round(cached), output };
}
