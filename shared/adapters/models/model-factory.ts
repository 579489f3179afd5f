import type { ModelSpec } from "../../agent-spec.js";
import { PermanentError } from "../../domain/errors.js";
import { resolveEnvRefs } from "../../env-refs.js";
import type { ModelClient, ProviderCredentials } from "../../ports.js";
import { assertPublicUrl, guardedFetch, redactUrl } from "../../security/network-guard.js";

export interface ModelFactoryOptions {
  maxRetries?: number;
  /** BGA_ALLOW_PRIVATE_NETWORK: without it every model request goes through the network guard. */
  allowPrivateNetwork?: boolean;
}

/** `Name: value` lines, as the SDKs read their *_CUSTOM_HEADERS variables. */
function headerLines(text: string | undefined): [string, string][] {
  return (text ?? "")
    .split("\n")
    .filter((line) => line.includes(":"))
    .map((line) => [line.slice(0, line.indexOf(":")).trim(), line.slice(line.indexOf(":") + 1).trim()]);
}

/**
 * The SDKs add the headers of OPENAI_CUSTOM_HEADERS / ANTHROPIC_CUSTOM_HEADERS from this process's
 * environment to every request. Each of those is removed (null) unless the tenant's own
 * credentials (for the local default tenant: the same environment) give it.
 */
function customHeaders(variable: string, credentials: ProviderCredentials): Record<string, string | null> {
  return Object.fromEntries([
    ...headerLines(process.env[variable]).map(([name]) => [name, null]),
    ...headerLines(credentials.get(variable)),
  ]);
}

/**
 * Builds the model client for an agent's model spec. Each provider's SDK (hundreds of KiB each)
 * is imported with the first agent that uses it, not at every cold start of the runner.
 */
export async function createModelClient(
  spec: ModelSpec,
  credentials: ProviderCredentials,
  options: ModelFactoryOptions = {},
): Promise<ModelClient> {
  switch (spec.provider) {
    case "openai": {
      const { OpenAIChatModel } = await import("./openai-chat.js");
      return new OpenAIChatModel({
        model: spec.model,
        apiKey: credentials.get(spec.token_key ?? "OPENAI_API_KEY"),
        organization: credentials.get("OPENAI_ORG_ID") ?? null,
        project: credentials.get("OPENAI_PROJECT_ID") ?? null,
        defaultHeaders: customHeaders("OPENAI_CUSTOM_HEADERS", credentials),
        fetch: guardedFetch({ allowPrivate: options.allowPrivateNetwork ?? false, redirect: "manual" }),
        ...(spec.base_url ? { baseURL: resolveEnvRefs(spec.base_url, credentials) } : {}),
        ...(spec.max_tokens ? { maxTokens: spec.max_tokens } : {}),
        ...(spec.temperature !== undefined ? { temperature: spec.temperature } : {}),
        ...(options.maxRetries !== undefined ? { maxRetries: options.maxRetries } : {}),
      });
    }
    case "anthropic": {
      const { AnthropicMessagesModel } = await import("./anthropic-messages.js");
      const keyName = spec.token_key ?? "ANTHROPIC_API_KEY";
      return new AnthropicMessagesModel({
        model: spec.model,
        apiKey: credentials.get(keyName),
        keyName,
        defaultHeaders: customHeaders("ANTHROPIC_CUSTOM_HEADERS", credentials),
        fetch: guardedFetch({ allowPrivate: options.allowPrivateNetwork ?? false, redirect: "manual" }),
        ...(spec.base_url ? { baseURL: resolveEnvRefs(spec.base_url, credentials) } : {}),
        ...(spec.max_tokens ? { maxTokens: spec.max_tokens } : {}),
        ...(spec.temperature !== undefined ? { temperature: spec.temperature } : {}),
        ...(options.maxRetries !== undefined ? { maxRetries: options.maxRetries } : {}),
      });
    }
    case "amazon-bedrock": {
      const { BedrockConverseModel } = await import("./bedrock-converse.js");
      // AWS credentials come from the default chain (the runner's role), never from tenant secrets;
      // the credentials here only fill `${env.NAME}` in base_url.
      return new BedrockConverseModel({
        model: spec.model,
        ...(spec.base_url ? { endpoint: resolveEnvRefs(spec.base_url, credentials) } : {}),
        ...(spec.max_tokens ? { maxTokens: spec.max_tokens } : {}),
        ...(spec.temperature !== undefined ? { temperature: spec.temperature } : {}),
        ...(spec.region ? { region: spec.region } : {}),
        ...(options.maxRetries !== undefined ? { maxRetries: options.maxRetries } : {}),
      });
    }
    default:
      throw new PermanentError(`model provider "${spec.provider}" is not supported`);
  }
}

/**
 * The Bedrock runtime endpoints, and nothing else of amazonaws.com: other AWS hosts (API Gateway,
 * S3 websites, …) can be customers' own, and Bedrock requests carry the runner's SigV4-signed
 * session. Regional (FIPS too), China, and interface VPC endpoints of bedrock-runtime.
 */
const BEDROCK_RUNTIME_HOST =
  /^(bedrock-runtime(-fips)?\.[a-z0-9-]+|vpce-[a-z0-9-]+\.bedrock-runtime\.[a-z0-9-]+\.vpce)\.amazonaws\.com(\.cn)?$/;

/**
 * A model's `base_url` is a remote URL like any other (SPEC §6): one that resolves to a loopback,
 * private or link-local address is refused unless private networks are allowed. Bedrock requests
 * are signed with the runner's own AWS credentials, so its `base_url` must be a Bedrock runtime
 * endpoint.
 */
export async function assertModelEndpoint(
  spec: ModelSpec,
  credentials: ProviderCredentials,
  allowPrivateNetwork: boolean,
): Promise<void> {
  if (!spec.base_url) return;
  const url = resolveEnvRefs(spec.base_url, credentials);
  if (spec.provider === "amazon-bedrock" && !allowPrivateNetwork) {
    const parsed = new URL(url);
    if (parsed.protocol !== "https:" || !BEDROCK_RUNTIME_HOST.test(parsed.hostname)) {
      throw new PermanentError(
        `the amazon-bedrock base_url must be an https Bedrock runtime endpoint (bedrock-runtime.<region>.amazonaws.com), not ${redactUrl(url)}`,
      );
    }
  }
  await assertPublicUrl(url, allowPrivateNetwork);
}
