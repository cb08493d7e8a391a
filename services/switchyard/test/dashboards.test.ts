import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MockUpstream } from '@switchyard/mock-upstream';
import { startMocks, startTestGateway, type ChannelView, type KeyView, type TestGateway } from './harness.js';
import { at, map, parseYaml, seq, str } from './yaml-reader.js';

/**
 * The Grafana dashboards and Prometheus alert rules under deploy/ checked against the metrics the code
 * exports. No Prometheus or Grafana runs here, so each assertion is something that would leave a panel
 * or an alert silently empty: a metric name no role registers, a histogram suffix on a counter, a
 * label the metric does not carry, a provider path compose does not mount.
 */

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const read = (rel: string): string => readFileSync(path.join(ROOT, rel), 'utf8');

// ---- the metrics the code exports -----------------------------------------------------------------

type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';
interface Metric {
  type: MetricType;
  labels: Set<string>;
}

/** Metric families of a Prometheus text exposition: `# TYPE` lines, with the labels seen on samples. */
function parseExposition(text: string): Map<string, Metric> {
  const out = new Map<string, Metric>();
  for (const m of text.matchAll(/^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (\w+)$/gm))
    out.set(m[1]!, { type: m[2] as MetricType, labels: new Set() });
  for (const m of text.matchAll(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{([^}]*)\})? /gm)) {
    const sample = m[1]!;
    const family =
      out.get(sample) ??
      out.get(sample.replace(/_(bucket|sum|count)$/, '')) ??
      out.get(sample.replace(/_total$/, ''));
    if (family === undefined) throw new Error(`/metrics: sample ${sample} has no # TYPE line`);
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="/g)) family.labels.add(l[1]!);
  }
  return out;
}

interface SourceMetric extends Metric {
  file: string;
}

/**
 * Every `new Counter|Gauge|Histogram|Summary({ name: 'switchyard_…', labelNames: […] })` in the
 * workspaces' sources (tests excluded), with its label names.
 */
function sourceMetrics(): Map<string, SourceMetric> {
  const out = new Map<string, SourceMetric>();
  const walk = (dir: string): string[] =>
    readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((e) =>
      e.isDirectory()
        ? walk(path.join(dir, e.name))
        : /(?<!\.test)\.ts$/.test(e.name)
          ? [path.join(dir, e.name)]
          : [],
    );
  const files = readdirSync(path.join(ROOT, 'services')).flatMap((s) => {
    try {
      return walk(path.join('services', s, 'src'));
    } catch {
      return [];
    }
  });
  for (const file of files) {
    const source = read(file);
    for (const m of source.matchAll(
      /new (Counter|Gauge|Histogram|Summary)\(\{\s*name: '(switchyard_[a-z0-9_]+)',([\s\S]*?)\}\);/g,
    )) {
      const labelNames = /labelNames: \[([^\]]*)\]/.exec(m[3]!)?.[1] ?? '';
      const labels = new Set([...labelNames.matchAll(/'([a-z_]+)'/g)].map((l) => l[1]!));
      out.set(m[2]!, { type: m[1]!.toLowerCase() as MetricType, labels, file });
    }
  }
  return out;
}

// ---- PromQL: the metric and label names an expression uses -----------------------------------------

const CHECKED_PREFIX = /^(switchyard_|process_|nodejs_)/;
/** Labels every scraped series has (Prometheus adds job and instance) or histogram buckets carry. */
const TARGET_LABELS = new Set(['job', 'instance']);
const PROMQL_CALLS = new Set(
  (
    'sum min max avg count stddev stdvar topk bottomk quantile count_values group sort sort_desc ' +
    'rate irate increase delta idelta deriv histogram_quantile label_values vector scalar abs ceil floor ' +
    'round clamp clamp_min clamp_max absent absent_over_time time timestamp min_over_time max_over_time ' +
    'avg_over_time sum_over_time count_over_time last_over_time predict_linear changes resets by without ' +
    'on ignoring group_left group_right and or unless bool offset'
  ).split(' '),
);

interface QueryNames {
  metrics: string[];
  labels: string[];
  calls: string[];
}

function queryNames(expr: string): QueryNames {
  // Why stripped first: quoted matcher values and durations are not names; Grafana's $variables neither.
  const bare = expr.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""').replace(/\$\w+/g, '');
  const labels: string[] = [];
  const outside = bare.replace(/\{([^}]*)\}/g, (_, inner: string) => {
    for (const l of inner.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)/g)) labels.push(l[1]!);
    return ' ';
  });
  for (const g of outside.matchAll(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g))
    labels.push(
      ...g[1]!
        .split(',')
        .map((l) => l.trim())
        .filter(Boolean),
    );
  const noDurations = outside.replace(/\[[^\]]*\]/g, ' ');
  const calls = [...noDurations.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*\(/g)].map((c) => c[1]!);
  const metrics = [...noDurations.matchAll(/(?<![a-zA-Z0-9_:.])([a-zA-Z_:][a-zA-Z0-9_:]*)/g)]
    .map((t) => t[1]!)
    .filter((t) => CHECKED_PREFIX.test(t));
  return { metrics: [...new Set(metrics)], labels: [...new Set(labels)], calls };
}

/** Brackets open and close in order: a cheap guard against truncated or mistyped expressions. */
function balanced(expr: string): boolean {
  const stack: string[] = [];
  const pairs: Record<string, string> = { ')': '(', ']': '[', '}': '{' };
  for (const c of expr.replace(/"(?:[^"\\]|\\.)*"/g, '""')) {
    if (c === '(' || c === '[' || c === '{') stack.push(c);
    else if (c in pairs && stack.pop() !== pairs[c]) return false;
  }
  return stack.length === 0;
}

// ---- the running gateway ---------------------------------------------------------------------------

let t: TestGateway;
let mock: MockUpstream;
/** Metrics known to be exported: scraped from the all-in-one, plus the role-only ones from the source. */
let exported: Map<string, Metric>;
let scraped: Map<string, Metric>;
let source: Map<string, SourceMetric>;

/** Why a name used in a query is not exported (null when it is). */
function problem(name: string): string | null {
  if (exported.has(name)) return null;
  const suffix = /_(bucket|sum|count)$/.exec(name)?.[1];
  if (suffix !== undefined) {
    const base = exported.get(name.slice(0, -suffix.length - 1));
    if (base?.type === 'histogram') return null;
    if (base?.type === 'summary' && suffix !== 'bucket') return null;
    if (base !== undefined) return `${name}: ${base.type} has no _${suffix} series`;
  }
  return `${name}: no role exports it`;
}

function labelsOf(name: string): Set<string> {
  const direct = exported.get(name);
  if (direct !== undefined) return direct.labels;
  const base = exported.get(name.replace(/_(bucket|sum|count)$/, ''));
  const labels = new Set(base?.labels ?? []);
  if (name.endsWith('_bucket')) labels.add('le');
  return labels;
}

/** Everything wrong with one expression: unknown metrics, labels none of its metrics carry, bad calls. */
function checkQuery(expr: string, extraLabels: string[] = []): string[] {
  const names = queryNames(expr);
  const errors = names.metrics.map(problem).filter((p): p is string => p !== null);
  if (!balanced(expr)) errors.push('unbalanced brackets');
  for (const c of names.calls) if (!PROMQL_CALLS.has(c)) errors.push(`unknown function ${c}`);
  if (names.metrics.length > 0) {
    const known = new Set([...TARGET_LABELS, ...names.metrics.flatMap((m) => [...labelsOf(m)])]);
    for (const l of new Set([...names.labels, ...extraLabels]))
      if (!known.has(l)) errors.push(`label ${l} is on none of ${names.metrics.join(', ')}`);
  }
  return errors;
}

beforeAll(async () => {
  [mock] = await startMocks(1);
  t = await startTestGateway();
  const channel = await t.admin<ChannelView>('POST', '/channels', {
    name: 'dashboards',
    provider: 'openai',
    base_url: `${mock.url}/v1`,
    models: ['gpt-4o'],
    accounts: [{ api_key: 'sk-dashboards' }],
  });
  expect(channel.status).toBe(201);
  const key = (await t.admin<KeyView>('POST', '/keys', { name: 'dashboards' })).body;
  const client = new OpenAI({ apiKey: key.key, baseURL: `${t.gw.url}/v1`, maxRetries: 0 });
  const messages = [{ role: 'user' as const, content: 'fill the dashboards' }];
  // A plain answer, a stream (time to first token) and a model nobody serves (an error status).
  await client.chat.completions.create({ model: 'gpt-4o', messages });
  for await (const _ of await client.chat.completions.create({ model: 'gpt-4o', messages, stream: true }))
    void _;
  await client.chat.completions.create({ model: 'not-served', messages }).catch(() => undefined);
  await t.gw.idle();

  scraped = parseExposition(await (await fetch(`${t.gw.url}/metrics`)).text());
  source = sourceMetrics();
  // A metric with no series yet (no cooldown was set, say) shows no labels in a scrape: its
  // declared labelNames say which it will carry.
  exported = new Map(
    [...scraped].map(([name, m]) => [
      name,
      { ...m, labels: new Set([...m.labels, ...(source.get(name)?.labels ?? [])]) },
    ]),
  );
  // Fallback for metrics only a distributed role registers (the relay role's config-stream, Redis and
  // NATS spool gauges): starting those roles needs the control plane's gRPC, Redis and NATS, so their
  // names and labels come from the source. Everything the all-in-one has is taken from its scrape.
  for (const [name, m] of source) if (!exported.has(name)) exported.set(name, m);
}, 60_000);

afterAll(async () => {
  await t?.stop();
  await mock?.close();
});

describe('the metrics the dashboards may use', () => {
  it('when the all-in-one has served requests, then its scrape has the labelled series and every switchyard metric it exports is found in the source', () => {
    expect(scraped.get('switchyard_http_requests_total')?.labels).toEqual(
      new Set(['route', 'model', 'channel', 'status']),
    );
    expect(scraped.get('switchyard_usage_write_duration_seconds')?.type).toBe('histogram');
    expect(scraped.has('process_cpu_seconds_total')).toBe(true);
    const fromScrape = [...scraped.keys()].filter((n) => n.startsWith('switchyard_'));
    expect(fromScrape.length).toBeGreaterThanOrEqual(15);
    for (const name of fromScrape) {
      expect(source.get(name)?.type, name).toBe(scraped.get(name)!.type);
      for (const l of scraped.get(name)!.labels)
        if (l !== 'le') expect(source.get(name)!.labels, `${name} ${l}`).toContain(l);
    }
  });

  it('when a metric is taken from the source instead of a scrape, then only a distributed role registers it', () => {
    const fallback = [...source.entries()].filter(([name]) => !scraped.has(name));
    expect(fallback.length).toBeGreaterThan(0);
    for (const [name, m] of fallback) expect(m.file, name).toMatch(/^services\/switchyard\/src\/roles\//);
  });

  it('when an expression is checked, then unknown metrics, wrong suffixes, foreign labels and typos are caught', () => {
    // The self-check: the extractor really reads the dashboards, and really fails on a missing metric.
    const overview = dashboards.find((x) => x.file === 'overview.json')!.d;
    expect(dashboardQueries(overview).flatMap((q) => queryNames(q.expr).metrics)).toContain(
      'switchyard_http_requests_total',
    );
    expect(checkQuery('sum(rate(switchyard_http_requests_total{status=~"5.."}[5m]))')).toEqual([]);
    expect(checkQuery('rate(switchyard_no_such_metric_total[5m])')).toEqual([
      'switchyard_no_such_metric_total: no role exports it',
    ]);
    expect(checkQuery('rate(switchyard_failovers_total_bucket[5m])')).toEqual([
      'switchyard_failovers_total_bucket: counter has no _bucket series',
    ]);
    expect(checkQuery('sum by (account) (rate(switchyard_failovers_total[5m]))')).toEqual([
      'label account is on none of switchyard_failovers_total',
    ]);
    expect(
      checkQuery('histgram_quantile(0.5, rate(switchyard_upstream_duration_seconds_bucket[5m]))'),
    ).toEqual(['unknown function histgram_quantile']);
    expect(checkQuery('sum(rate(switchyard_http_requests_total[5m])')).toEqual(['unbalanced brackets']);
  });
});

// ---- dashboards and their provisioning --------------------------------------------------------------

interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  targets?: Array<{ expr: string; legendFormat?: string; datasource?: { uid: string } }>;
  panels?: Panel[];
}
interface Dashboard {
  uid: string;
  title: string;
  schemaVersion: number;
  panels: Panel[];
  templating: {
    list: Array<{
      name: string;
      type: string;
      definition?: string;
      query?: { query: string };
      datasource?: { uid: string };
    }>;
  };
}

const DASHBOARD_DIR = 'deploy/grafana/dashboards';
const dashboardFiles = readdirSync(path.join(ROOT, DASHBOARD_DIR)).filter((f) => f.endsWith('.json'));
const dashboards = dashboardFiles.map((f) => ({
  file: f,
  d: JSON.parse(read(path.join(DASHBOARD_DIR, f))) as Dashboard,
}));
const allPanels = (d: Dashboard): Panel[] => d.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
/**
 * Every PromQL expression of a dashboard: panel targets (with the labels their legend shows) and the
 * metric selectors of label_values() template variables (with the label they list).
 */
function dashboardQueries(d: Dashboard): Array<{ where: string; expr: string; labels: string[] }> {
  const out: Array<{ where: string; expr: string; labels: string[] }> = [];
  for (const p of allPanels(d))
    for (const target of p.targets ?? []) {
      const legend = [...(target.legendFormat ?? '').matchAll(/\{\{\s*(\w+)\s*\}\}/g)].map((m) => m[1]!);
      out.push({ where: p.title, expr: target.expr, labels: legend });
    }
  for (const v of d.templating.list.filter((x) => x.type === 'query'))
    for (const q of [v.definition ?? '', v.query?.query ?? '']) {
      const label = /^label_values\((.+),\s*(\w+)\)$/.exec(q);
      if (label === null)
        throw new Error(`${d.uid}: variable ${v.name} is not label_values(metric, label): ${q}`);
      out.push({ where: `variable ${v.name}`, expr: label[1]!, labels: [label[2]!] });
    }
  return out;
}
const datasourceUid = str(
  at(
    parseYaml(read('deploy/grafana/provisioning/datasources/prometheus.yml'), 'prometheus.yml'),
    'datasources',
    0,
    'uid',
  ),
);
const compose = parseYaml(read('docker-compose.yml'), 'docker-compose.yml');
const bindMounts = (service: string): Array<{ source: string; target: string }> =>
  seq(at(compose, 'services', service, 'volumes'))
    .map((v) => str(v).split(':'))
    .filter(([s]) => s!.startsWith('./'))
    .map(([s, target]) => ({ source: path.posix.normalize(s!), target: target! }));

describe('Grafana dashboards', () => {
  it('when the dashboards are listed, then the four of the brief are there with distinct uids', () => {
    expect(dashboardFiles.sort()).toEqual([
      'accounting.json',
      'channel-health.json',
      'overview.json',
      'usage-cost.json',
    ]);
    expect(new Set(dashboards.map(({ d }) => d.uid)).size).toBe(dashboards.length);
  });

  it.each(dashboards)(
    'when $file is loaded, then it has a uid, a title, 4+ panels on the provisioned datasource',
    ({ d }) => {
      expect(d.uid).toMatch(/^[a-zA-Z0-9_-]{1,40}$/);
      expect(d.title).toMatch(/^Switchyard \/ /);
      expect(d.schemaVersion).toBeGreaterThanOrEqual(39);
      const panels = allPanels(d).filter((p) => p.type !== 'row');
      expect(panels.length).toBeGreaterThanOrEqual(4);
      expect(new Set(allPanels(d).map((p) => p.id)).size).toBe(allPanels(d).length);
      for (const p of panels) {
        expect(p.datasource?.uid, p.title).toBe(datasourceUid);
        expect(p.targets?.length, p.title).toBeGreaterThan(0);
        for (const target of p.targets ?? [])
          expect(target.datasource?.uid ?? datasourceUid, p.title).toBe(datasourceUid);
      }
      for (const v of d.templating.list.filter((x) => x.type === 'query'))
        expect(v.datasource?.uid, v.name).toBe(datasourceUid);
    },
  );

  it.each(dashboards)(
    'when $file queries Prometheus, then every metric and label it uses is exported',
    ({ d }) => {
      const errors: string[] = [];
      for (const q of dashboardQueries(d)) {
        if (queryNames(q.expr).metrics.length === 0) errors.push(`${q.where}: queries no Switchyard metric`);
        for (const e of checkQuery(q.expr, q.labels)) errors.push(`${q.where}: ${e}`);
      }
      expect(errors).toEqual([]);
    },
  );

  it('when compose starts Grafana, then its file provider reads the folder compose mounts the dashboards at', () => {
    const provisioning = bindMounts('grafana').find((m) => m.target === '/etc/grafana/provisioning');
    expect(provisioning?.source).toBe('deploy/grafana/provisioning');
    const mount = bindMounts('grafana').find((m) => m.source === DASHBOARD_DIR);
    expect(mount).toBeDefined();
    const file = path.join(provisioning!.source, 'dashboards', 'switchyard.yml');
    const providers = seq(at(parseYaml(read(file), file), 'providers')).map(map);
    expect(providers).toHaveLength(1);
    expect(at(providers[0]!, 'type')).toBe('file');
    expect(str(at(providers[0]!, 'options', 'path'))).toBe(mount!.target);
  });
});

// ---- alert rules --------------------------------------------------------------------------------------

describe('Prometheus alert rules', () => {
  const prometheusMounts = bindMounts('prometheus');
  const configMount = prometheusMounts.find((m) => m.target === '/etc/prometheus/prometheus.yml')!;
  const prometheus = parseYaml(read(configMount.source), configMount.source);
  const rulesMount = prometheusMounts.find((m) => m.source === 'deploy/prometheus/alerts.yml');
  const groups = seq(at(parseYaml(read('deploy/prometheus/alerts.yml'), 'alerts.yml'), 'groups')).map(map);
  const rules = groups.flatMap((g) => seq(at(g, 'rules')).map(map));

  it('when Prometheus starts in compose, then prometheus.yml lists the mounted rule file', () => {
    expect(rulesMount).toBeDefined();
    expect(seq(at(prometheus, 'rule_files')).map(str)).toEqual([rulesMount!.target]);
  });

  it('when the rules are read, then each has alert, expr, for, a severity and a summary, under a unique name', () => {
    expect(rules.length).toBeGreaterThanOrEqual(8);
    for (const r of rules) {
      const name = str(at(r, 'alert'));
      expect(name).toMatch(/^Switchyard[A-Z]\w+$/);
      expect(str(at(r, 'expr')).length, name).toBeGreaterThan(0);
      expect(str(at(r, 'for')), name).toMatch(/^\d+[smh]$/);
      expect(str(at(r, 'labels', 'severity')), name).toMatch(/^(critical|warning)$/);
      expect(str(at(r, 'annotations', 'summary')).length, name).toBeGreaterThan(0);
      expect(str(at(r, 'annotations', 'description')).length, name).toBeGreaterThan(0);
    }
    expect(new Set(rules.map((r) => at(r, 'alert'))).size).toBe(rules.length);
  });

  it('when a rule is evaluated, then its metrics, labels and job matchers exist', () => {
    const jobs = seq(at(prometheus, 'scrape_configs')).map((j) => str(at(map(j), 'job_name')));
    const errors: string[] = [];
    for (const r of rules) {
      const name = str(at(r, 'alert'));
      const expr = str(at(r, 'expr'));
      const annotations = Object.values(map(at(r, 'annotations')))
        .map(str)
        .join(' ');
      const used = [...annotations.matchAll(/\$labels\.(\w+)/g)].map((m) => m[1]!);
      for (const e of checkQuery(expr, used)) errors.push(`${name}: ${e}`);
      for (const m of expr.matchAll(/job=~"([^"]+)"/g))
        if (!jobs.some((j) => new RegExp(`^(?:${m[1]})$`).test(j)))
          errors.push(`${name}: job ${m[1]} is scraped by no job`);
    }
    expect(errors).toEqual([]);
  });
});
