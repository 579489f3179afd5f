import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { Harness } from "./harness.js";

/**
 * The official MCP SDK client on the harness's app, in process (no port): Streamable HTTP with the
 * app's own fetch, as a tenant's key. `fetch` replaces the app (e.g. to count responses).
 */
export async function mcpClient(
  h: Harness,
  apiKey: string,
  options: { fetch?: (req: Request) => Promise<Response> } = {},
): Promise<Client> {
  const client = new Client({ name: "test-orchestrator", version: "1.0.0" });
  const appFetch = options.fetch ?? ((req: Request) => h.runtime.app.fetch(req));
  await client.connect(
    new StreamableHTTPClientTransport(new URL("http://127.0.0.1:8787/mcp"), {
      requestInit: { headers: { authorization: `Bearer ${apiKey}` } },
      fetch: async (url, init) => appFetch(new Request(url, init)),
    }),
  );
  return client;
}

/** The text of a CallToolResult. */
export function textOf(result: unknown): string {
  const content = (result as { content: { type: string; text: string }[] }).content;
  return content.map((c) => c.text).join("");
}
