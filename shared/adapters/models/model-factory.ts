import { type ModelSpec, resolveEnvRefs } from "../../agent-config.js";
import { PermanentError } from "../../domain/errors.js";
import type { ModelClient } from "../../ports.js";
import { OpenAIChatModel } from "./openai-chat.js";

export interface ProviderCredentials {
  /** Values such as OPENAI_API_KEY: the process environment for the local tenant, the tenant's secrets in the cloud. */
  get(name: string): string | undefined;
}

export interface ModelFactoryOptions {
  maxRetries?: number;
}

/** Builds the model client for an agent's model spec. */
export function createModelClient(
  spec: ModelSpec,
  credentials: ProviderCredentials,
  options: ModelFactoryOptions = {},
): ModelClient {
  switch (spec.provider) {
    case "openai":
      return new OpenAIChatModel({
        model: spec.model,
        apiKey: credentials.get(spec.token_key ?? "OPENAI_API_KEY"),
        ...(spec.base_url ? { baseURL: resolveEnvRefs(spec.base_url, credentials) } : {}),
        ...(spec.max_tokens ? { maxTokens: spec.max_tokens } : {}),
        ...(spec.temperature !== undefined ? { temperature: spec.temperature } : {}),
        ...(options.maxRetries !== undefined ? { maxRetries: options.maxRetries } : {}),
      });
    default:
      throw new PermanentError(`model provider "${spec.provider}" is not supported`);
  }
}
