import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AnthropicMessagesModel } from "../../shared/adapters/models/anthropic-messages.js";
import { assertModelEndpoint, createModelClient } from "../../shared/adapters/models/model-factory.js";
import { OpenAIChatModel } from "../../shared/adapters/models/openai-chat.js";
import type { ProviderCredentials } from "../../shared/ports.js";
import { guardedFetch } from "../../shared/security/network-guard.js";
import { FakeAnthropic } from "../support/fake-anthropic.js";
import { FakeOpenAI } from "../support/fake-openai.js";

// What the SDKs read from process.env on their own. None of it may reach a tenant's endpoint:
// a tenant's provider settings come from its own credentials only.
const SERVER_ENV = {
  OPENAI_ORG_ID: "org-of-the-server",
  OPENAI_PROJECT_ID: "proj-of-the-server",
  OPENAI_CUSTOM_HEADERS: "X-Server-Secret: s3cret-openai\nX-Other: o",
  OPENAI_BASE_URL: "http://127.0.0.1:9/not-this",
  ANTHROPIC_CUSTOM_HEADERS: "X-Server-Secret: s3cret-anthropic",
  ANTHROPIC_AUTH_TOKEN: "server-bearer-token",
  ANTHROPIC_BASE_URL: "http://127.0.0.1:9/not-this",
};

const openai = new FakeOpenAI();
const anthropic = new FakeAnthropic();
const saved = { ...process.env };

beforeAll(async () => {
  await openai.start();
  await anthropic.start();
  Object.assign(process.env, SERVER_ENV);
});
afterAll(async () => {
  process.env = saved;
  await openai.close();
  await anthropic.close();
});

function tenant(secrets: Record<string, string>): ProviderCredentials {
  return { get: (name) => secrets[name] };
}

const turn = { messages: [{ role: "user" as const, content: "hi" }], tools: [], onText: () => {} };

describe("provider clients are built with everything explicit", () => {
  it("openai: no organization, project or custom header of the server's environment", async () => {
    const model = await createModelClient(
      { provider: "openai", model: "gpt-test", base_url: `${openai.url}/v1` },
      tenant({ OPENAI_API_KEY: "sk-tenant" }),
      { allowPrivateNetwork: true, maxRetries: 0 },
    );
    await model.turn({ ...turn, signal: new AbortController().signal });
    const headers = openai.requests[0]?.headers ?? {};
    expect(headers.authorization).toBe("Bearer sk-tenant");
    expect(headers["openai-organization"]).toBeUndefined();
    expect(headers["openai-project"]).toBeUndefined();
    expect(headers["x-server-secret"]).toBeUndefined();
    expect(headers["x-other"]).toBeUndefined();
  });

  it("openai: the tenant's own organization and custom headers do reach its endpoint", async () => {
    const model = await createModelClient(
      { provider: "openai", model: "gpt-test", base_url: `${openai.url}/v1` },
      tenant({
        OPENAI_API_KEY: "sk-tenant",
        OPENAI_ORG_ID: "org-tenant",
        OPENAI_CUSTOM_HEADERS: "X-Other: mine",
      }),
      { allowPrivateNetwork: true, maxRetries: 0 },
    );
    await model.turn({ ...turn, signal: new AbortController().signal });
    const headers = openai.requests.at(-1)?.headers ?? {};
    expect(headers["openai-organization"]).toBe("org-tenant");
    expect(headers["x-other"]).toBe("mine");
    expect(headers["x-server-secret"]).toBeUndefined();
  });

  it("anthropic: no bearer token or custom header of the server's environment", async () => {
    const model = await createModelClient(
      { provider: "anthropic", model: "claude-test", base_url: anthropic.url },
      tenant({ ANTHROPIC_API_KEY: "sk-ant-tenant" }),
      { allowPrivateNetwork: true, maxRetries: 0 },
    );
    await model.turn({ ...turn, signal: new AbortController().signal });
    const headers = anthropic.requests[0]?.headers ?? {};
    // This SDK version sends the key as a bearer token: the tenant's key, never the server's token.
    expect(headers.authorization).toBe("Bearer sk-ant-tenant");
    expect(headers["x-server-secret"]).toBeUndefined();
  });
});

describe("a Bedrock base_url", () => {
  const check = (base_url: string) =>
    assertModelEndpoint({ provider: "amazon-bedrock", model: "m", base_url }, tenant({}), false);

  it("must be a Bedrock runtime endpoint, not any amazonaws.com host a customer may own", async () => {
    for (const url of [
      "https://abc123.execute-api.us-east-1.amazonaws.com/prod",
      "https://bucket.s3-website-us-east-1.amazonaws.com",
      "https://bedrock-runtime.us-east-1.amazonaws.com.evil.example",
      "http://bedrock-runtime.us-east-1.amazonaws.com",
    ]) {
      await expect(check(url), url).rejects.toThrow(/must be an https Bedrock runtime endpoint/);
    }
  });

  it("accepts the regional, FIPS and VPC endpoints of bedrock-runtime (then checks where they resolve)", async () => {
    for (const url of [
      "https://bedrock-runtime.eu-west-1.amazonaws.com",
      "https://bedrock-runtime-fips.us-east-1.amazonaws.com",
      "https://vpce-0abc-123.bedrock-runtime.us-east-1.vpce.amazonaws.com",
    ]) {
      // No DNS here: what fails is the look-up, not the endpoint rule.
      const err = await check(url).catch((e: unknown) => e);
      expect(String(err), url).not.toMatch(/must be an https Bedrock runtime endpoint/);
    }
  });
});

describe("model SDKs over the guarded fetch (undici's fetch and the checking dispatcher)", () => {
  // The policy here allows the fakes' loopback address, as the default one allows public ones.
  const fetch = guardedFetch({ allowPrivate: false, redirect: "manual", allowed: (a) => a === "127.0.0.1" });

  it("streams an OpenAI turn", async () => {
    openai.enqueue({ text: ["guarded ", "stream"] });
    const model = new OpenAIChatModel({
      model: "m",
      apiKey: "k",
      baseURL: `${openai.url}/v1`,
      fetch,
      maxRetries: 0,
    });
    const deltas: string[] = [];
    const result = await model.turn({
      ...turn,
      onText: (d) => deltas.push(d),
      signal: new AbortController().signal,
    });
    expect(result.text).toBe("guarded stream");
    expect(deltas).toEqual(["guarded ", "stream"]);
  });

  it("streams an Anthropic turn", async () => {
    anthropic.enqueue({ text: ["guarded ", "stream"] });
    const model = new AnthropicMessagesModel({
      model: "m",
      apiKey: "k",
      baseURL: anthropic.url,
      fetch,
      maxRetries: 0,
    });
    const result = await model.turn({ ...turn, signal: new AbortController().signal });
    expect(result.text).toBe("guarded stream");
  });
});
