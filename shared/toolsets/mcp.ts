import { UnauthorizedError } from "@modelcontextprotocol/sdk/client/auth.js";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { PermanentError, TransientError } from "../domain/errors.js";
import { resolveEnvRefs } from "../env-refs.js";
import type { ToolDefinitionForModel } from "../ports.js";
import {
  assertPublicUrl,
  guardedFetch,
  PrivateNetworkRefusedError,
  redactUrl,
} from "../security/network-guard.js";
import type { ToolResult } from "./registry.js";

export interface McpRemote {
  url: string;
  transport_type?: string | undefined;
  headers?: Record<string, string> | undefined;
}

export interface McpToolsetOptions {
  remote: McpRemote;
  /** Only these tools of the server, when given. */
  tools?: string[] | undefined;
  secrets: { get(name: string): string | undefined };
  allowPrivateNetwork: boolean;
  /** Limit on connecting and on each tool call. */
  timeoutMs: number;
}

export interface OpenMcpToolset {
  definitions: ToolDefinitionForModel[];
  call(name: string, argumentsJson: string, signal: AbortSignal): Promise<ToolResult>;
  close(): Promise<void>;
}

/**
 * A remote MCP server as a toolset: listed and called with the official MCP SDK client. A tool
 * that fails is returned to the model as a tool error; a server that cannot be reached fails the
 * step (retried by the state machine).
 */
export async function openMcpToolset(options: McpToolsetOptions): Promise<OpenMcpToolset> {
  const url = resolveEnvRefs(options.remote.url, options.secrets);
  const headers = Object.fromEntries(
    Object.entries(options.remote.headers ?? {}).map(([k, v]) => [k, resolveEnvRefs(v, options.secrets)]),
  );
  await assertPublicUrl(url, options.allowPrivateNetwork);
  const transportOptions = {
    requestInit: { headers },
    fetch: guardedFetch({ allowPrivate: options.allowPrivateNetwork, redirect: "follow" }),
  };
  const transport =
    options.remote.transport_type === "sse"
      ? new SSEClientTransport(new URL(url), transportOptions)
      : new StreamableHTTPClientTransport(new URL(url), transportOptions);
  const client = new Client({ name: "background-agents-cloud", version: "0.1.0" });
  let listed: Awaited<ReturnType<Client["listTools"]>>;
  try {
    await client.connect(transport, { timeout: options.timeoutMs });
    listed = await client.listTools(undefined, { timeout: options.timeoutMs });
  } catch (err) {
    await client.close().catch(() => {});
    if (err instanceof PrivateNetworkRefusedError) throw err;
    // The URL may carry a secret (`?token=${env.S1}`): errors show it without query or user info.
    const shown = redactUrl(url);
    const cause = (err instanceof Error ? err.message : String(err)).replaceAll(url, shown);
    // The SDK's transport errors carry the HTTP status as `code`; credentials refused are final.
    const status = (err as { code?: unknown }).code;
    if (status === 401 || status === 403 || err instanceof UnauthorizedError) {
      throw new PermanentError(`MCP server ${shown} refused the connection: ${cause}`);
    }
    throw new TransientError(`MCP server ${shown} could not be reached: ${cause}`);
  }
  const wanted = options.tools ? new Set(options.tools) : null;
  const tools = listed.tools.filter((t) => !wanted || wanted.has(t.name));
  const names = new Set(tools.map((t) => t.name));
  return {
    definitions: tools.map((t) => ({
      name: t.name,
      description: t.description ?? "",
      parameters: t.inputSchema as Record<string, unknown>,
    })),
    async call(name, argumentsJson, signal) {
      if (!names.has(name)) return { ok: false, text: `error: unknown tool "${name}"` };
      let args: Record<string, unknown>;
      try {
        const parsed: unknown = JSON.parse(argumentsJson || "{}");
        if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
          throw new Error("not an object");
        args = parsed as Record<string, unknown>;
      } catch {
        return { ok: false, text: "error: the tool arguments are not a JSON object" };
      }
      try {
        const result = await client.callTool({ name, arguments: args }, undefined, {
          timeout: options.timeoutMs,
          signal,
        });
        const content = Array.isArray(result.content) ? result.content : [];
        const text = content
          .map((c: { type: string; text?: string }) =>
            c.type === "text" ? (c.text ?? "") : `[${c.type} content]`,
          )
          .join("\n");
        return result.isError
          ? { ok: false, text: `error: ${text || "the tool failed"}` }
          : { ok: true, text };
      } catch (err) {
        if (signal.aborted) throw err;
        return { ok: false, text: `error: ${err instanceof Error ? err.message : String(err)}` };
      }
    },
    close: () => client.close(),
  };
}
