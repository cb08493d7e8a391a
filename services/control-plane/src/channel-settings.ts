import {
  defaultBaseUrl,
  InvalidRequestError,
  PROVIDER_CATALOG,
  type ChannelOptions,
  type ProviderId,
} from '@switchyard/core';
import { checkBaseUrl } from './base-url-policy.js';
import { checkChannelOptions } from './channel-options.js';
import { credentialProblem } from './credential-check.js';
import type { UpstreamPolicy } from './upstream-policy.js';

/** The provider-dependent fields of a channel, as stored: base_url and models are the effective ones. */
export interface ChannelSettings {
  provider: ProviderId;
  baseUrl: string;
  options: ChannelOptions;
  models: string[];
}

/** What POST /channels gave for those fields (base_url as given; it is SSRF-checked and normalised here). */
export interface NewChannelSettingsInput {
  provider: ProviderId;
  base_url?: string | undefined;
  options?: ChannelOptions | undefined;
  models?: string[] | undefined;
  /** The plaintext account credentials, in order. */
  credentials: string[];
}

/**
 * Resolves a new channel's settings against its provider's catalogue entry: options checked, base_url
 * checked against `policy` (or defaulted when omitted), models defaulted when omitted, each credential
 * checked against the provider's CredentialKind. Throws a 400 naming the offending field.
 */
export function resolveNewChannelSettings(
  input: NewChannelSettingsInput,
  policy: UpstreamPolicy,
): ChannelSettings {
  const options = checkChannelOptions(input.provider, input.options ?? {}, policy);
  const settings: ChannelSettings = {
    provider: input.provider,
    options,
    baseUrl:
      input.base_url === undefined
        ? providerBaseUrl(input.provider, options, policy)
        : checkedBaseUrl(input.base_url, policy),
    models: input.models ?? providerModels(input.provider),
  };
  checkCredentials(input.provider, input.credentials, policy);
  return settings;
}

/** What PATCH /channels/:id gave for those fields; absent ones keep the channel's. */
export interface ChannelSettingsPatchInput {
  provider?: ProviderId | undefined;
  base_url?: string | undefined;
  options?: ChannelOptions | undefined;
  /** Plaintext credentials of the accounts that replace the channel's, when the PATCH has `accounts`. */
  credentials?: string[] | undefined;
}

/** The stored channel as a PATCH sees it; `storedCredentials` decrypts its accounts, only when needed. */
export interface CurrentChannelSettings {
  provider: ProviderId;
  baseUrl: string;
  options: ChannelOptions;
  storedCredentials: () => { name: string; credential: string | undefined }[];
}

/**
 * Resolves a PATCH's provider-dependent fields against the channel it changes. A new provider re-checks
 * the options (given or kept) and the accounts (given or stored); new accounts are checked against the
 * effective provider. When the provider or options change without a base_url and the channel's base_url
 * was the old default, it follows the new default (a provider without one then needs base_url).
 * A given base_url is checked against `policy`. Returns only the fields to write.
 */
export function resolveChannelSettingsPatch(
  current: CurrentChannelSettings,
  input: ChannelSettingsPatchInput,
  policy: UpstreamPolicy,
): Partial<Omit<ChannelSettings, 'models'>> {
  const provider = input.provider ?? current.provider;
  const providerChanged = provider !== current.provider;
  const options =
    input.options !== undefined || providerChanged
      ? checkChannelOptions(provider, input.options ?? current.options, policy)
      : undefined;

  let baseUrl = input.base_url === undefined ? undefined : checkedBaseUrl(input.base_url, policy);
  if (baseUrl === undefined && options !== undefined) {
    const followedDefault = current.baseUrl === defaultBaseUrl(current.provider, current.options);
    if (followedDefault) baseUrl = providerBaseUrl(provider, options, policy);
  }

  if (input.credentials !== undefined) checkCredentials(provider, input.credentials, policy);
  else if (providerChanged) checkStoredCredentials(provider, current.storedCredentials(), policy);

  return {
    ...(providerChanged && { provider }),
    ...(options !== undefined && { options }),
    ...(baseUrl !== undefined && { baseUrl }),
  };
}

/** The provider's default base URL for these options, or a 400 when it has none. */
function providerBaseUrl(provider: ProviderId, options: ChannelOptions, policy: UpstreamPolicy): string {
  const url = defaultBaseUrl(provider, options);
  if (url === null) {
    throw new InvalidRequestError(`base_url is required for ${provider}: it has no default base URL.`, {
      param: 'base_url',
    });
  }
  return checkedBaseUrl(url, policy);
}

/** The normalised base URL, or a 400 naming `base_url` with the policy's reason. */
function checkedBaseUrl(url: string, policy: UpstreamPolicy): string {
  const check = checkBaseUrl(url, policy);
  if (!check.ok) throw new InvalidRequestError(`'base_url': ${check.reason}`, { param: 'base_url' });
  return check.url;
}

function providerModels(provider: ProviderId): string[] {
  const models = PROVIDER_CATALOG[provider].defaultModels;
  if (models.length === 0) {
    throw new InvalidRequestError(`models is required for ${provider}: it has no default model list.`, {
      param: 'models',
    });
  }
  return [...models];
}

function checkCredentials(provider: ProviderId, credentials: string[], policy: UpstreamPolicy): void {
  const kind = PROVIDER_CATALOG[provider].credential;
  credentials.forEach((credential, i) => {
    const problem = credentialProblem(kind, credential, policy);
    if (problem !== null) {
      const param = `accounts.${i}.api_key`;
      throw new InvalidRequestError(`'${param}' (provider ${provider}): ${problem}.`, { param });
    }
  });
}

function checkStoredCredentials(
  provider: ProviderId,
  stored: { name: string; credential: string | undefined }[],
  policy: UpstreamPolicy,
): void {
  const kind = PROVIDER_CATALOG[provider].credential;
  for (const account of stored) {
    const problem =
      account.credential === undefined
        ? 'cannot be decrypted to be checked'
        : credentialProblem(kind, account.credential, policy);
    if (problem !== null) {
      throw new InvalidRequestError(
        `'accounts': the stored account '${account.name}' does not fit provider ${provider}: its credential ${problem}. Give the accounts again in the same PATCH.`,
        { param: 'accounts' },
      );
    }
  }
}
