import * as z from "zod";
import type { ToolDefinitionForModel } from "../ports.js";

/** The `think` toolset: a scratchpad the model can write to; it changes nothing outside. */
export const THINK_TOOL: ToolDefinitionForModel = {
  name: "think",
  description:
    "Use the tool to think about something. It will not obtain new information or change anything, " +
    "but just append the thought to the log. Use it when complex reasoning is needed.",
  parameters: {
    type: "object",
    properties: { thought: { type: "string", description: "A thought to think about." } },
    required: ["thought"],
    additionalProperties: false,
  },
};

const ThinkArgs = z.object({ thought: z.string() });

export function runThink(argumentsJson: string): { ok: boolean; text: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(argumentsJson || "{}");
  } catch {
    return { ok: false, text: "error: arguments are not valid JSON" };
  }
  const parsed = ThinkArgs.safeParse(raw);
  if (!parsed.success) return { ok: false, text: 'error: think takes {"thought": string}' };
  return { ok: true, text: "Thought recorded." };
}
