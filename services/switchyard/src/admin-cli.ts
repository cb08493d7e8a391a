import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';
import { DeclarativeFileError, readDeclarativeFile } from './declarative-file.js';
import { renderTable, type TextColumn } from './text-table.js';

/** Where the admin CLI writes and which environment it reads (process's own in the executable, captured in tests). */
export interface AdminCliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  /** Read for SWITCHYARD_URL, SWITCHYARD_ADMIN_TOKEN and the variables `apply -f`'s `{ env }` secret references name. */
  env: Readonly<Record<string, string | undefined>>;
}

/** The first words of the admin commands; the executable hands these to `runAdminCli`. */
export const ADMIN_COMMANDS: readonly string[] = [
  'keys',
  'channels',
  'accounts',
  'oauth',
  'usage',
  'status',
  'health-check',
  'apply',
];

export const ADMIN_HELP = `Admin commands (thin calls to the admin REST API, /admin/v1):
  keys create --name N [--group G] [--user-id N] [--quota USD] [--models a,b] [--expires-at ISO]
              [--rpm N] [--tpm N] [--concurrency N]        Issue a client key (its plaintext is shown once)
  keys list [--user-id N] [--group G]                      Every key (all pages)
  keys disable <id>                                        Disable a key
  channels add --name N --provider P [--base-url U] [--models a,b] [--api-key K]... [--group G]...
  channels list
  channels test <id> [--account-id N] [--model M]          Exit 1 when any account failed the test
  accounts add-api-key --channel <id> --name N --api-key K
  accounts add-oauth --channel <id> --profile P [--name N] Print the authorization URL to open
  accounts list --channel <id>
  oauth start --channel <id> --profile P [--name N] [--client-id ID] [--client-secret S]
              [--redirect-uri U] [--authorize-url U] [--token-url U]  (overrides for self-hosted OAuth servers)
  oauth callback --callback-url URL | --code X [--state Y]
  usage [--key-id N] [--user-id N] [--model M] [--since ISO] [--until ISO] [--limit N]
  status                                                   /healthz, /readyz, every relay (snapshot version, dependencies)
                                                           and every channel's account health
  health-check                                             Exit 0 ready, 1 not ready, 2 unreachable
  apply -f <file> [--dry-run]                              Make the configuration match switchyard.yaml; its
                                                           { env } / { file } secrets are read here (exit 2 if missing)

Admin options (after the command):
  --url <url>             Gateway or control plane URL (SWITCHYARD_URL, default http://127.0.0.1:8080)
  --token <token>         Admin token (SWITCHYARD_ADMIN_TOKEN); never printed
  --output table|json     table (default) or the API's JSON as is (lists as arrays)

Exit codes: 0 ok, 1 the API refused (its message and code on stderr), 2 usage error or unreachable.
`;

const DEFAULT_URL = 'http://127.0.0.1:8080';
// Why 30 s: a channel test waits up to 15 s per account (all at once); twice that covers a slow answer.
const REQUEST_TIMEOUT_MS = 30_000;
// Why 5 s: a readiness probe that takes longer than this is as good as down for a script.
const HEALTH_CHECK_TIMEOUT_MS = 5_000;
// The API's largest page (PageLimit / UsageLimit maximum).
const MAX_PAGE = 500;

class UsageError extends Error {}

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

class UnreachableError extends Error {}

/** A local file the command needs cannot be read or resolved (exit 2, like an unreachable server). */
class UnreadableError extends Error {}

type Values = Record<string, string | boolean | string[] | undefined>;
type Output = 'table' | 'json';

interface Context {
  url: string;
  token: string | undefined;
  output: Output;
  io: AdminCliIo;
  values: Values;
  positionals: string[];
}

interface Command {
  options: ParseArgsOptionsConfig;
  run(ctx: Context): Promise<number>;
}

const GLOBAL_OPTIONS: ParseArgsOptionsConfig = {
  url: { type: 'string' },
  token: { type: 'string' },
  output: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
};

const str = { type: 'string' } as const;
const many = { type: 'string', multiple: true } as const;

function write(ctx: Context, value: unknown, table: () => string): void {
  ctx.io.stdout(ctx.output === 'json' ? `${JSON.stringify(value, null, 2)}\n` : table());
}

function text(ctx: Context, name: string): string | undefined {
  const v = ctx.values[name];
  return typeof v === 'string' ? v : undefined;
}

function required(ctx: Context, name: string): string {
  const v = text(ctx, name);
  if (v === undefined || v === '') throw new UsageError(`--${name} is required`);
  return v;
}

function integer(label: string, raw: string): number {
  if (!/^[1-9]\d{0,15}$/.test(raw))
    throw new UsageError(`${label}: must be a positive integer, got "${raw}"`);
  return Number(raw);
}

function optionalInteger(ctx: Context, name: string): number | undefined {
  const v = text(ctx, name);
  return v === undefined ? undefined : integer(`--${name}`, v);
}

function idArgument(ctx: Context, what: string): number {
  const [raw, ...extra] = ctx.positionals;
  if (raw === undefined) throw new UsageError(`missing <id> of the ${what}`);
  if (extra.length > 0) throw new UsageError(`unexpected arguments: ${extra.join(' ')}`);
  return integer(`<id>`, raw);
}

function list(raw: string | undefined): string[] | undefined {
  if (raw === undefined) return undefined;
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** Drops undefined fields, so the API applies its defaults. */
function defined(body: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(body).filter(([, v]) => v !== undefined));
}

function query(params: Record<string, string | number | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined) q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

/** The URL without credentials or path, for messages. */
function shown(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '(invalid URL)';
  }
}

async function send(
  ctx: Context,
  url: string,
  init: RequestInit,
  timeoutMs: number,
): Promise<{ status: number; body: unknown }> {
  let res: Response;
  try {
    res = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const why =
      (err as Error).name === 'TimeoutError'
        ? `no answer within ${timeoutMs / 1000} s`
        : (cause?.code ?? cause?.message ?? (err as Error).message);
    throw new UnreachableError(`cannot reach ${shown(ctx.url)}: ${why}`);
  }
  const raw = await res.text();
  let body: unknown = raw;
  try {
    body = raw ? JSON.parse(raw) : null;
  } catch {
    // Not JSON (a proxy's error page, say): kept as text for the error message.
  }
  return { status: res.status, body };
}

/** One admin API call; a non-2xx answer becomes an ApiError carrying the API's message and code. */
async function api<T>(ctx: Context, method: string, route: string, body?: unknown): Promise<T> {
  if (!ctx.token) throw new UsageError('no admin token: pass --token or set SWITCHYARD_ADMIN_TOKEN');
  const headers: Record<string, string> = { authorization: `Bearer ${ctx.token}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await send(
    ctx,
    `${ctx.url}/admin/v1${route}`,
    { method, headers, body: body === undefined ? undefined : JSON.stringify(body) },
    REQUEST_TIMEOUT_MS,
  );
  if (res.status >= 200 && res.status < 300) return res.body as T;
  const error = (res.body as { error?: { message?: unknown; code?: unknown } } | null)?.error;
  const message =
    typeof error?.message === 'string'
      ? error.message
      : `HTTP ${res.status} from ${method} /admin/v1${route.split('?')[0]}`;
  const code = typeof error?.code === 'string' ? error.code : `http_${res.status}`;
  throw new ApiError(res.status, code, message);
}

/** Every row of a cursor-paged list. */
async function allPages<T>(ctx: Context, route: string, params: Record<string, string | number | undefined>) {
  const rows: T[] = [];
  let cursor: string | undefined;
  do {
    const page = await api<{ data: T[]; next_cursor: string | null }>(
      ctx,
      'GET',
      `${route}${query({ ...params, limit: MAX_PAGE, cursor })}`,
    );
    rows.push(...page.data);
    cursor = page.next_cursor ?? undefined;
  } while (cursor !== undefined);
  return rows;
}

interface KeyRow {
  id: number;
  name: string;
  key_prefix: string;
  group: string;
  user_id: number | null;
  enabled: boolean;
  quota: string | null;
  used: string;
  models: string[] | null;
  expires_at: string | null;
  key?: string;
}

const KEY_COLUMNS: Array<TextColumn<KeyRow>> = [
  { header: 'ID', cell: (k) => k.id },
  { header: 'NAME', cell: (k) => k.name },
  { header: 'PREFIX', cell: (k) => k.key_prefix },
  { header: 'GROUP', cell: (k) => k.group },
  { header: 'USER', cell: (k) => k.user_id },
  { header: 'ENABLED', cell: (k) => k.enabled },
  { header: 'QUOTA', cell: (k) => k.quota ?? 'unlimited' },
  { header: 'USED', cell: (k) => k.used },
  { header: 'MODELS', cell: (k) => k.models ?? '*' },
  { header: 'EXPIRES', cell: (k) => k.expires_at ?? 'never' },
];

interface ChannelRow {
  id: number;
  name: string;
  provider: string;
  base_url: string;
  models: string[];
  groups: string[];
  enabled: boolean;
  accounts: Array<{ id: number; enabled: boolean }>;
}

const CHANNEL_COLUMNS: Array<TextColumn<ChannelRow>> = [
  { header: 'ID', cell: (c) => c.id },
  { header: 'NAME', cell: (c) => c.name },
  { header: 'PROVIDER', cell: (c) => c.provider },
  { header: 'BASE_URL', cell: (c) => c.base_url },
  { header: 'MODELS', cell: (c) => c.models },
  { header: 'GROUPS', cell: (c) => c.groups },
  { header: 'ACCOUNTS', cell: (c) => `${c.accounts.filter((a) => a.enabled).length}/${c.accounts.length}` },
  { header: 'ENABLED', cell: (c) => c.enabled },
];

interface AccountRow {
  id: number;
  channel_id: number;
  name: string;
  kind: string;
  enabled: boolean;
  oauth_profile: string | null;
  disabled_reason: string | null;
  health: { status: string; last_error: string | null };
}

const ACCOUNT_COLUMNS: Array<TextColumn<AccountRow>> = [
  { header: 'ID', cell: (a) => a.id },
  { header: 'CHANNEL', cell: (a) => a.channel_id },
  { header: 'NAME', cell: (a) => a.name },
  { header: 'KIND', cell: (a) => (a.oauth_profile ? `${a.kind} (${a.oauth_profile})` : a.kind) },
  { header: 'ENABLED', cell: (a) => a.enabled },
  { header: 'HEALTH', cell: (a) => a.health.status },
  { header: 'LAST_ERROR', cell: (a) => a.health.last_error ?? a.disabled_reason },
];

interface TestOutcome {
  account_id: number;
  account_name: string;
  ok: boolean;
  status: number | null;
  latency_ms: number;
  model: string;
  error: { message?: string; code?: string } | null;
}

const TEST_COLUMNS: Array<TextColumn<TestOutcome>> = [
  { header: 'ACCOUNT', cell: (r) => r.account_id },
  { header: 'NAME', cell: (r) => r.account_name },
  { header: 'OK', cell: (r) => r.ok },
  { header: 'STATUS', cell: (r) => r.status },
  { header: 'LATENCY_MS', cell: (r) => r.latency_ms },
  { header: 'MODEL', cell: (r) => r.model },
  {
    header: 'ERROR',
    cell: (r) => (r.error ? `${r.error.code ?? ''} ${r.error.message ?? ''}`.trim() : null),
  },
];

interface UsageRow {
  created_at: string;
  request_id: string;
  key_id: number;
  user_id: number | null;
  channel_id: number | null;
  model: string;
  status: string;
  http_status: number;
  prompt_tokens: number;
  completion_tokens: number;
  cost: string;
  latency_ms: number;
}

const USAGE_COLUMNS: Array<TextColumn<UsageRow>> = [
  { header: 'TIME', cell: (u) => u.created_at },
  { header: 'REQUEST', cell: (u) => u.request_id },
  { header: 'KEY', cell: (u) => u.key_id },
  { header: 'USER', cell: (u) => u.user_id },
  { header: 'CHANNEL', cell: (u) => u.channel_id },
  { header: 'MODEL', cell: (u) => u.model },
  { header: 'STATUS', cell: (u) => `${u.status} ${u.http_status}` },
  { header: 'PROMPT', cell: (u) => u.prompt_tokens },
  { header: 'COMPLETION', cell: (u) => u.completion_tokens },
  { header: 'COST_USD', cell: (u) => u.cost },
  { header: 'LATENCY_MS', cell: (u) => u.latency_ms },
];

interface OAuthStartResult {
  authorization_url: string;
  state: string;
  expires_at: string;
}

async function oauthStart(ctx: Context): Promise<number> {
  const started = await api<OAuthStartResult>(
    ctx,
    'POST',
    '/accounts/oauth/start',
    defined({
      channel_id: integer('--channel', required(ctx, 'channel')),
      profile: required(ctx, 'profile'),
      name: text(ctx, 'name'),
      client_id: text(ctx, 'client-id'),
      client_secret: text(ctx, 'client-secret'),
      redirect_uri: text(ctx, 'redirect-uri'),
      authorize_url: text(ctx, 'authorize-url'),
      token_url: text(ctx, 'token-url'),
    }),
  );
  write(
    ctx,
    started,
    () =>
      `Open this URL in a browser and sign in (it expires at ${started.expires_at}):\n\n  ${started.authorization_url}\n\n` +
      'Then finish with: switchyard oauth callback --callback-url "<the URL the browser was sent to>"\n' +
      '  (or --code "<code#state>" when the provider shows a code instead)\n',
  );
  return 0;
}

const OAUTH_START_OPTIONS: ParseArgsOptionsConfig = {
  channel: str,
  profile: str,
  name: str,
  'client-id': str,
  'client-secret': str,
  'redirect-uri': str,
  'authorize-url': str,
  'token-url': str,
};

interface ApplyChange {
  kind: string;
  name: string;
  action: string;
}

const CHANGE_COLUMNS: Array<TextColumn<ApplyChange>> = [
  { header: 'KIND', cell: (c) => c.kind },
  { header: 'NAME', cell: (c) => c.name },
  { header: 'ACTION', cell: (c) => c.action },
];

/** `created 2, unchanged 5`, in the order actions first appear. */
function changeSummary(changes: readonly ApplyChange[]): string {
  const counts = new Map<string, number>();
  for (const c of changes) counts.set(c.action, (counts.get(c.action) ?? 0) + 1);
  return counts.size === 0
    ? 'nothing declared'
    : [...counts].map(([action, n]) => `${action} ${n}`).join(', ');
}

async function applyFile(ctx: Context): Promise<number> {
  const file = text(ctx, 'file');
  if (file === undefined || file === '') throw new UsageError('-f <file> is required');
  const dryRun = ctx.values['dry-run'] === true;
  let document: unknown;
  try {
    document = await readDeclarativeFile(file, ctx.io.env);
  } catch (err) {
    if (err instanceof DeclarativeFileError) throw new UnreadableError(err.message);
    throw err;
  }
  const result = await api<{ dry_run: boolean; changes: ApplyChange[] }>(
    ctx,
    'POST',
    `/apply${dryRun ? '?dry_run=true' : ''}`,
    document,
  );
  write(
    ctx,
    result,
    () =>
      `${renderTable(result.changes, CHANGE_COLUMNS)}
${result.dry_run ? 'dry run, nothing written: ' : ''}${changeSummary(result.changes)}
`,
  );
  return 0;
}

const COMMANDS: Record<string, Command> = {
  apply: {
    options: { file: { type: 'string', short: 'f' }, 'dry-run': { type: 'boolean' } },
    run: applyFile,
  },
  'keys create': {
    options: {
      name: str,
      group: str,
      'user-id': str,
      quota: str,
      models: str,
      'expires-at': str,
      rpm: str,
      tpm: str,
      concurrency: str,
    },
    async run(ctx) {
      const key = await api<KeyRow & { key: string }>(
        ctx,
        'POST',
        '/keys',
        defined({
          name: required(ctx, 'name'),
          group: text(ctx, 'group'),
          user_id: optionalInteger(ctx, 'user-id'),
          quota: text(ctx, 'quota'),
          models: list(text(ctx, 'models')),
          expires_at: text(ctx, 'expires-at'),
          rpm_limit: optionalInteger(ctx, 'rpm'),
          tpm_limit: optionalInteger(ctx, 'tpm'),
          concurrency_limit: optionalInteger(ctx, 'concurrency'),
        }),
      );
      write(
        ctx,
        key,
        () =>
          `${renderTable([key], KEY_COLUMNS)}\nClient key (shown only this once, store it now):\n  ${key.key}\n`,
      );
      return 0;
    },
  },
  'keys list': {
    options: { 'user-id': str, group: str },
    async run(ctx) {
      const keys = await allPages<KeyRow>(ctx, '/keys', {
        user_id: optionalInteger(ctx, 'user-id'),
        group: text(ctx, 'group'),
      });
      write(ctx, keys, () => renderTable(keys, KEY_COLUMNS));
      return 0;
    },
  },
  'keys disable': {
    options: {},
    async run(ctx) {
      const id = idArgument(ctx, 'key');
      const key = await api<KeyRow>(ctx, 'PATCH', `/keys/${id}`, { enabled: false });
      write(ctx, key, () => `key ${key.id} (${key.name}) disabled\n`);
      return 0;
    },
  },
  'channels add': {
    options: { name: str, provider: str, 'base-url': str, models: str, 'api-key': many, group: many },
    async run(ctx) {
      const apiKeys = (ctx.values['api-key'] as string[] | undefined) ?? [];
      const groups = ctx.values.group as string[] | undefined;
      const channel = await api<ChannelRow>(
        ctx,
        'POST',
        '/channels',
        defined({
          name: required(ctx, 'name'),
          provider: required(ctx, 'provider'),
          base_url: text(ctx, 'base-url'),
          models: list(text(ctx, 'models')),
          accounts: apiKeys.length > 0 ? apiKeys.map((k) => ({ api_key: k })) : undefined,
          groups,
        }),
      );
      write(ctx, channel, () => renderTable([channel], CHANNEL_COLUMNS));
      return 0;
    },
  },
  'channels list': {
    options: {},
    async run(ctx) {
      const { data } = await api<{ data: ChannelRow[] }>(ctx, 'GET', '/channels');
      write(ctx, data, () => renderTable(data, CHANNEL_COLUMNS));
      return 0;
    },
  },
  'channels test': {
    options: { 'account-id': str, model: str },
    async run(ctx) {
      const id = idArgument(ctx, 'channel');
      const result = await api<{ channel_id: number; results: TestOutcome[] }>(
        ctx,
        'POST',
        `/channels/${id}/test`,
        defined({ account_id: optionalInteger(ctx, 'account-id'), model: text(ctx, 'model') }),
      );
      write(ctx, result, () => renderTable(result.results, TEST_COLUMNS));
      const failed = result.results.filter((r) => !r.ok).length;
      if (result.results.length === 0) {
        ctx.io.stderr(`switchyard: channel ${id} has no enabled account to test\n`);
        return 1;
      }
      if (failed > 0) {
        ctx.io.stderr(
          `switchyard: channel ${id}: ${failed} of ${result.results.length} accounts failed the test\n`,
        );
        return 1;
      }
      return 0;
    },
  },
  'accounts add-api-key': {
    options: { channel: str, name: str, 'api-key': str },
    async run(ctx) {
      const channel = integer('--channel', required(ctx, 'channel'));
      const account = await api<AccountRow>(ctx, 'POST', `/channels/${channel}/accounts`, {
        name: required(ctx, 'name'),
        api_key: required(ctx, 'api-key'),
      });
      write(ctx, account, () => renderTable([account], ACCOUNT_COLUMNS));
      return 0;
    },
  },
  'accounts add-oauth': { options: OAUTH_START_OPTIONS, run: oauthStart },
  'accounts list': {
    options: { channel: str },
    async run(ctx) {
      const channel = integer('--channel', required(ctx, 'channel'));
      const { data } = await api<{ data: AccountRow[] }>(ctx, 'GET', `/channels/${channel}/accounts`);
      write(ctx, data, () => renderTable(data, ACCOUNT_COLUMNS));
      return 0;
    },
  },
  'oauth start': { options: OAUTH_START_OPTIONS, run: oauthStart },
  'oauth callback': {
    options: { 'callback-url': str, code: str, state: str },
    async run(ctx) {
      const callbackUrl = text(ctx, 'callback-url');
      const code = text(ctx, 'code');
      if ((callbackUrl === undefined) === (code === undefined))
        throw new UsageError(
          'give either --callback-url or --code (with --state unless the code is code#state)',
        );
      const account = await api<AccountRow>(
        ctx,
        'POST',
        '/accounts/oauth/callback',
        defined({ callback_url: callbackUrl, code, state: text(ctx, 'state') }),
      );
      write(ctx, account, () => renderTable([account], ACCOUNT_COLUMNS));
      return 0;
    },
  },
  usage: {
    options: { 'key-id': str, 'user-id': str, model: str, since: str, until: str, limit: str },
    async run(ctx) {
      // Why 50: the API's own default page size.
      const limit = optionalInteger(ctx, 'limit') ?? 50;
      const filters = {
        key_id: optionalInteger(ctx, 'key-id'),
        user_id: optionalInteger(ctx, 'user-id'),
        model: text(ctx, 'model'),
        since: text(ctx, 'since'),
        until: text(ctx, 'until'),
      };
      const rows: UsageRow[] = [];
      let cursor: string | undefined;
      do {
        const page = await api<{ data: UsageRow[]; next_cursor: string | null }>(
          ctx,
          'GET',
          `/usage${query({ ...filters, limit: Math.min(MAX_PAGE, limit - rows.length), cursor })}`,
        );
        rows.push(...page.data);
        cursor = page.next_cursor ?? undefined;
      } while (cursor !== undefined && rows.length < limit);
      write(ctx, rows, () => renderTable(rows, USAGE_COLUMNS));
      return 0;
    },
  },
  status: {
    options: {},
    async run(ctx) {
      const healthz = await send(ctx, `${ctx.url}/healthz`, {}, REQUEST_TIMEOUT_MS);
      const readyz = await send(ctx, `${ctx.url}/readyz`, {}, REQUEST_TIMEOUT_MS);
      const ready = readyz.status === 200;
      let channels: ChannelHealth[] | null = null;
      let relays: RelayList | null = null;
      let adminError: string | null = null;
      if (ctx.token) {
        // A gateway in trouble is when status matters most: an admin API that fails is reported
        // next to the readiness checks, not instead of them.
        try {
          const { data } = await api<{ data: ChannelRow[] }>(ctx, 'GET', '/channels');
          channels = await Promise.all(
            data.map((c) => api<ChannelHealth>(ctx, 'GET', `/channels/${c.id}/health`)),
          );
          relays = await api<RelayList>(ctx, 'GET', '/relays');
        } catch (err) {
          if (!(err instanceof ApiError)) throw err;
          adminError = `${err.message} (${err.code}, HTTP ${err.status})`;
          channels = null;
          relays = null;
        }
      }
      const report = {
        url: shown(ctx.url),
        healthz: { http_status: healthz.status, body: healthz.body },
        readyz: { http_status: readyz.status, body: readyz.body },
        relays,
        channels,
        ...(adminError !== null && { admin_api_error: adminError }),
      };
      write(ctx, report, () => statusText(report.url, healthz, readyz, channels, relays, adminError));
      return ready && adminError === null ? 0 : 1;
    },
  },
  'health-check': {
    options: {},
    async run(ctx) {
      const readyz = await send(ctx, `${ctx.url}/readyz`, {}, HEALTH_CHECK_TIMEOUT_MS);
      const ready = readyz.status === 200;
      write(ctx, readyz.body, () => (ready ? 'ready\n' : `not ready (HTTP ${readyz.status})\n`));
      return ready ? 0 : 1;
    },
  },
};

/** GET /admin/v1/relays. */
interface RelayList {
  control_plane_version: number;
  registry: 'redis' | 'memory' | null;
  data: Array<{
    id: string;
    snapshot_version: number;
    started_at: string;
    seen_at: string;
    checks: Record<string, string>;
  }>;
}

interface ChannelHealth {
  channel_id: number;
  accounts: Array<{
    id: number;
    name: string;
    health: {
      status: string;
      cooldown_until: string | null;
      last_error: string | null;
      breaker: Array<{ relay: string; state: string; updated_at: string }>;
    };
  }>;
}

/** Flattens readiness checks to `a.b: value` lines. */
function flatten(value: unknown, prefix: string, out: Array<[string, unknown]>): Array<[string, unknown]> {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else {
    out.push([prefix, value]);
  }
  return out;
}

function statusText(
  url: string,
  healthz: { status: number; body: unknown },
  readyz: { status: number; body: unknown },
  channels: ChannelHealth[] | null,
  relays: RelayList | null,
  adminError: string | null,
): string {
  const ready = readyz.body as { status?: string; checks?: Record<string, unknown> } | null;
  const checks = ready?.checks ?? {};
  const config = checks.config as { version?: unknown } | undefined;
  const version = config?.version ?? checks.config_version ?? 'unknown';
  let out =
    `${url}\n` +
    `  healthz: ${healthz.status === 200 ? 'ok' : `HTTP ${healthz.status}`}\n` +
    `  readyz: ${ready?.status ?? `HTTP ${readyz.status}`}\n` +
    `  snapshot version: ${String(version)}\n\n`;
  const deps = flatten(checks, '', []).map(([check, value]) => ({ check, value }));
  out += renderTable(deps, [
    { header: 'CHECK', cell: (d) => d.check },
    { header: 'STATE', cell: (d) => d.value },
  ]);
  if (adminError !== null) return `${out}\nadmin API: ${adminError}\n`;
  if (channels === null || relays === null)
    return `${out}\n(no admin token: relays and channel health not shown)\n`;
  out +=
    relays.registry === null
      ? '\nrelays: unknown (this control plane has no SWITCHYARD_REDIS_URL to read them from)\n'
      : relays.data.length === 0
        ? '\nrelays: none announced in the last 15 s\n'
        : `\n${renderTable(relays.data, [
            { header: 'RELAY', cell: (r) => r.id },
            {
              header: 'SNAPSHOT',
              cell: (r) =>
                r.snapshot_version === relays.control_plane_version
                  ? String(r.snapshot_version)
                  : `${r.snapshot_version} (control plane: ${relays.control_plane_version})`,
            },
            { header: 'STARTED', cell: (r) => r.started_at },
            { header: 'SEEN', cell: (r) => r.seen_at },
            {
              header: 'DEPENDENCIES',
              cell: (r) =>
                Object.entries(r.checks)
                  .map(([k, v]) => `${k}=${v}`)
                  .join(' '),
            },
          ])}`;
  const accounts = channels.flatMap((c) => c.accounts.map((a) => ({ channel: c.channel_id, ...a })));
  out += `\n${renderTable(accounts, [
    { header: 'CHANNEL', cell: (a) => a.channel },
    { header: 'ACCOUNT', cell: (a) => a.id },
    { header: 'NAME', cell: (a) => a.name },
    { header: 'HEALTH', cell: (a) => a.health.status },
    { header: 'BREAKERS', cell: (a) => a.health.breaker.map((b) => `${b.relay}:${b.state}`) },
    { header: 'COOLDOWN_UNTIL', cell: (a) => a.health.cooldown_until },
    { header: 'LAST_ERROR', cell: (a) => a.health.last_error },
  ])}`;
  return out;
}

const TAKES_ID = new Set(['keys disable', 'channels test']);

function resolveCommand(argv: readonly string[]): { name: string; rest: string[] } {
  const [group = '', sub, ...rest] = argv;
  if (COMMANDS[group]) return { name: group, rest: argv.slice(1) };
  const subs = Object.keys(COMMANDS)
    .filter((n) => n.startsWith(`${group} `))
    .map((n) => n.slice(group.length + 1));
  if (subs.length === 0) throw new UsageError(`unknown command "${group}"`);
  if (sub === undefined || sub.startsWith('-'))
    throw new UsageError(`missing ${group} command: one of ${subs.join(', ')}`);
  if (!subs.includes(sub))
    throw new UsageError(`unknown ${group} command "${sub}": one of ${subs.join(', ')}`);
  return { name: `${group} ${sub}`, rest };
}

/**
 * Runs one admin command (`argv` starts with its first word, one of ADMIN_COMMANDS) and resolves with
 * its exit code: 0 ok, 1 the API refused, 2 a usage error or the server unreachable.
 */
export async function runAdminCli(argv: readonly string[], io: AdminCliIo): Promise<number> {
  try {
    if (argv.includes('--help') || argv.includes('-h')) {
      io.stdout(ADMIN_HELP);
      return 0;
    }
    const { name, rest } = resolveCommand(argv);
    const command = COMMANDS[name]!;
    const { values, positionals } = parseArgs({
      args: rest,
      options: { ...GLOBAL_OPTIONS, ...command.options },
      allowPositionals: true,
      strict: true,
    });
    const output = (values.output as string | undefined) ?? 'table';
    if (output !== 'table' && output !== 'json')
      throw new UsageError(`--output ${output}: must be table or json`);
    const url = ((values.url as string | undefined) ?? io.env.SWITCHYARD_URL ?? DEFAULT_URL).replace(
      /\/+$/,
      '',
    );
    if (!/^https?:\/\//.test(url)) throw new UsageError('--url: must be an http(s) URL');
    const token = (values.token as string | undefined) ?? io.env.SWITCHYARD_ADMIN_TOKEN;
    const ctx: Context = {
      url,
      token: token || undefined,
      output,
      io,
      values: values as Values,
      positionals,
    };
    // Only `keys disable <id>` and `channels test <id>` take an argument; they check it themselves.
    if (!TAKES_ID.has(name) && positionals.length > 0)
      throw new UsageError(`unexpected arguments: ${positionals.join(' ')}`);
    return await command.run(ctx);
  } catch (err) {
    if (err instanceof ApiError) {
      io.stderr(`switchyard: ${err.message} (${err.code}, HTTP ${err.status})\n`);
      return 1;
    }
    if (err instanceof UnreachableError || err instanceof UnreadableError) {
      io.stderr(`switchyard: ${err.message}\n`);
      return 2;
    }
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      io.stderr(
        `switchyard: ${(err as Error).message}\nRun "switchyard help" for the commands and options.\n`,
      );
      return 2;
    }
    throw err;
  }
}
