import type { StoredProxy } from './proxy-repository.js';
import { toIso } from './iso-time.js';

/** An outbound proxy as the admin API shows it: the URL with credentials masked, never the password. */
export interface ProxyView {
  id: number;
  name: string;
  /** The display URL: `socks5://***@host:1080` when the proxy URL carries credentials. */
  url: string;
  /** null = no cap. */
  max_accounts: number | null;
  enabled: boolean;
  /** How many accounts are assigned to it. */
  accounts: number;
  created_at: string;
  updated_at: string;
}

export function toProxyView(proxy: StoredProxy): ProxyView {
  return {
    id: proxy.id,
    name: proxy.name,
    url: proxy.displayUrl,
    max_accounts: proxy.maxAccounts,
    enabled: proxy.enabled,
    accounts: proxy.accounts,
    created_at: toIso(proxy.createdAt),
    updated_at: toIso(proxy.updatedAt),
  };
}
