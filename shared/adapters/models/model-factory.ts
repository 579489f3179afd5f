import type { ModelSpec } from "../../agent-spec.js";
import { PermanentError } from "../../domain/errors.js";
import { resolveEnvRefs } from "../../env-refs.js";
import type { ModelClient } from "../../ports.js";
import { assertPublicUrl } from "../../security/network-guard.js";

export interface ProviderCredentials {
  /** Values such as OPENAI_API_KEY: the process environment for the local tenant, the tenant's secrets in the cloud. */
  get(name: string): string | undefined;
}

export interface ModelFactoryOptions {
  maxRetries?: number;
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
 * A model's `base_url` is a remote URL like any other (SPEC §6): one that resolves to a loopback,
 * private or link-local address is refused unless private networks are allowed. Bedrock requests
 * are signed with the runner's own AWS credentials, so its `base_url` must also be an AWS endpoint.
 */
export async function assertModelEndpoint(
  spec: ModelSpec,
  credentials: ProviderCredentials,
  allowPrivateNetwork: boolean,
): Promise<void> {
  if (!spec.base_url) return;
  const url = resolveEnvRefs(spec.base_url, credentials);
  if (spec.provider === "amazon-bedrock" && !allowPrivateNetwork) {
    const host = new URL(url).hostname;
    if (
      new URL(url).protocol !== "https:" ||
      !(host === "amazonaws.com" || host.endsWith(".amazonaws.com"))
    ) {
      throw new PermanentError(
        `the amazon-bedrock base_url must be an https AWS endpoint (*.amazonaws.com), not ${url}`,
      );
    }
  }
  await assertPublicUrl(url, allowPrivateNetwork);
}
