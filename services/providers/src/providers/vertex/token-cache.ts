/** An access token and when it stops being valid (epoch milliseconds). */
export interface AccessToken {
  token: string;
  expiresAt: number;
}

/** Why 5 minutes: a token is replaced well before it expires, so no request carries one that dies in flight. */
const REFRESH_MARGIN_MS = 5 * 60 * 1000;

interface Entry {
  /** Identifies the credential the token was made from; a changed credential starts over. */
  version: string;
  token: AccessToken | null;
  inflight: Promise<string> | null;
}

/**
 * Access tokens per account, reused until 5 minutes before they expire. Concurrent requests for the
 * same account share one in-flight exchange; a failed exchange is not cached (the next request
 * tries again). One entry per account: a rotated credential replaces the old entry.
 */
export class TokenCache {
  readonly #entries = new Map<number, Entry>();

  /** The account's token: cached, the in-flight one, or a new one from `exchange`. */
  get(
    accountId: number,
    version: string,
    now: number,
    exchange: () => Promise<AccessToken>,
  ): Promise<string> {
    let entry = this.#entries.get(accountId);
    if (entry === undefined || entry.version !== version) {
      entry = { version, token: null, inflight: null };
      this.#entries.set(accountId, entry);
    }
    if (entry.token !== null && now < entry.token.expiresAt - REFRESH_MARGIN_MS) {
      return Promise.resolve(entry.token.token);
    }
    if (entry.inflight !== null) return entry.inflight;
    const e = entry;
    const inflight = exchange().then(
      (t) => {
        e.token = t;
        e.inflight = null;
        return t.token;
      },
      (err: unknown) => {
        e.inflight = null;
        throw err;
      },
    );
    e.inflight = inflight;
    return inflight;
  }
}
