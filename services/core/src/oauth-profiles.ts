import type { ProviderId } from './provider-catalog.js';

/**
 * An OAuth account profile: how the control plane authorizes and refreshes such an account, and what
 * the relay adds to its upstream requests. Profiles are data: the relay never tests a profile id.
 */
export interface OAuthProfile {
  id: string;
  /** The provider whose channels these accounts belong to (the first of `providers`). */
  provider: ProviderId;
  /** Every provider whose channels may hold such accounts. */
  providers: readonly ProviderId[];
  description: string;
  authorizeUrl: string;
  tokenUrl: string;
  clientId: string;
  /** Public clients (PKCE) have none; null then. */
  clientSecret: string | null;
  /**
   * How the token endpoint takes its parameters: a JSON object (Anthropic's) or an
   * application/x-www-form-urlencoded form (RFC 6749, Google's).
   */
  tokenRequestFormat: 'json' | 'form';
  scopes: string[];
  /** Where the provider sends the browser back with `code` and `state`. */
  redirectUri: string;
  /** Extra query parameters of the authorization URL. */
  authorizeParams: Record<string, string>;
  /** Headers added to every upstream request of such an account. */
  extraHeaders: Record<string, string>;
  /** Put before the system prompt of every request (some providers require it for OAuth clients). */
  systemPromptPrefix: string | null;
  /** Refresh when the access token expires within this margin. */
  refreshMarginMs: number;
}

/** What the relay applies to an account's requests, resolved from its profile into the snapshot. */
export interface AccountDecorations {
  authScheme: 'default' | 'bearer';
  extraHeaders: Record<string, string>;
  systemPromptPrefix: string | null;
}

// Why 5 minutes: longer than a relay's snapshot propagation and a slow request, shorter than any
// provider's token lifetime (an hour for both profiles below).
const REFRESH_MARGIN_MS = 5 * 60_000;

export const OAUTH_PROFILES: Readonly<Record<string, OAuthProfile>> = Object.freeze({
  'anthropic-claude-code': {
    id: 'anthropic-claude-code',
    provider: 'anthropic',
    providers: ['anthropic'],
    description: 'Claude Pro/Max accounts as Claude Code signs them in (OAuth with PKCE).',
    authorizeUrl: 'https://claude.ai/oauth/authorize',
    tokenUrl: 'https://console.anthropic.com/v1/oauth/token',
    clientId: '9d1c250a-e61b-44d9-88ed-5944d1962f5e',
    clientSecret: null,
    tokenRequestFormat: 'json',
    scopes: ['org:create_api_key', 'user:profile', 'user:inference'],
    redirectUri: 'https://console.anthropic.com/oauth/code/callback',
    authorizeParams: { code: 'true' },
    extraHeaders: { 'anthropic-beta': 'oauth-2025-04-20' },
    systemPromptPrefix: "You are Claude Code, Anthropic's official CLI for Claude.",
    refreshMarginMs: REFRESH_MARGIN_MS,
  },
  'google-gemini-cli': {
    id: 'google-gemini-cli',
    provider: 'gemini',
    // The Gemini API with the account's token, or Code Assist as Gemini CLI itself calls it.
    providers: ['gemini', 'gemini-code-assist'],
    description: 'Google accounts as Gemini CLI signs them in (OAuth with PKCE, offline access).',
    authorizeUrl: 'https://accounts.google.com/o/oauth2/v2/auth',
    tokenUrl: 'https://oauth2.googleapis.com/token',
    clientId: '681255809395-oo8ft2oprdrnp9e3aqf6av3hmdib135j.apps.googleusercontent.com',
    clientSecret: null,
    tokenRequestFormat: 'form',
    scopes: [
      'https://www.googleapis.com/auth/cloud-platform',
      'https://www.googleapis.com/auth/userinfo.email',
      'https://www.googleapis.com/auth/userinfo.profile',
    ],
    redirectUri: 'http://localhost:8085/oauth2callback',
    authorizeParams: { access_type: 'offline', prompt: 'consent' },
    extraHeaders: { 'x-goog-api-client': 'gl-node/switchyard' },
    systemPromptPrefix: null,
    refreshMarginMs: REFRESH_MARGIN_MS,
  },
});

export function oauthProfile(id: string): OAuthProfile | undefined {
  return Object.hasOwn(OAUTH_PROFILES, id) ? OAUTH_PROFILES[id] : undefined;
}

/** The decorations of an account: its profile's, or none for API-key accounts and unknown profiles. */
export function accountDecorations(kind: 'api_key' | 'oauth', profileId: string | null): AccountDecorations {
  const profile = kind === 'oauth' && profileId !== null ? oauthProfile(profileId) : undefined;
  if (profile === undefined) return { authScheme: 'default', extraHeaders: {}, systemPromptPrefix: null };
  return {
    authScheme: 'bearer',
    extraHeaders: { ...profile.extraHeaders },
    systemPromptPrefix: profile.systemPromptPrefix,
  };
}
