import {
  defaultBaseUrl,
  PROVIDER_CATALOG,
  PROVIDER_IDS,
  type CredentialKind,
  type ProviderId,
} from '@switchyard/core';

/** A provider catalogue entry as GET /providers shows it: what a channel of that provider needs. */
export interface ProviderView {
  id: ProviderId;
  label: string;
  /** The base URL a channel gets when it sets none (with default options); null: base_url is required. */
  default_base_url: string | null;
  /** Models a channel announces when it lists none; empty: models is required. */
  default_models: string[];
  /** The form of each account's api_key. */
  credential: CredentialKind;
  /** The `options` keys the provider reads. */
  options: Record<string, { description: string; default: string | null; required: boolean }>;
  /** Serves the OpenAI-compatible endpoints (Chat Completions, Embeddings, Completions, Models) natively. */
  openai_compatible: boolean;
}

/** Every provider, in PROVIDER_IDS order. */
export function providerViews(): ProviderView[] {
  return PROVIDER_IDS.map((id) => {
    const profile = PROVIDER_CATALOG[id];
    return {
      id,
      label: profile.label,
      default_base_url: defaultBaseUrl(id, {}),
      default_models: [...profile.defaultModels],
      credential: profile.credential,
      options: Object.fromEntries(
        Object.entries(profile.options).map(([key, spec]) => [
          key,
          { description: spec.description, default: spec.default, required: spec.required },
        ]),
      ),
      openai_compatible: profile.openaiCompatible,
    };
  });
}
