import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import { beforeAll, describe, expect, it } from 'vitest';
import { CONFIG_SCHEMA, loadConfig } from '../src/config.js';
import { closeHttp, createOpsApp, finishApp, listenHttp } from '../src/http-host.js';
import { requireForRole, ROLES, type Role } from '../src/role-requirements.js';
import {
  declaredEntries,
  dryRunInPodLayout,
  generatedSecret,
  parseDocument,
  secretRefs,
} from './declarative-dry-run.js';
import { HELM_VERSION, helmBinary, helmLint, helmTemplate } from './helm-render.js';
import { parseManifests, validateManifests } from './k8s-schema.js';

/**
 * The Helm chart deploy/helm/switchyard, rendered and linted by the real Helm (helm-render.ts) for
 * the values files in its ci/ folder, validated strictly against the Kubernetes OpenAPI schemas,
 * and checked against the code it deploys: every variable is one the role accepts and every role's
 * requirements are met, every selector, port name and backend meets its target. No cluster runs
 * here, so each assertion is something that would break a real deployment.
 */

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CHART = path.join(ROOT, 'deploy/helm/switchyard');
const MINIMAL = path.join(CHART, 'ci/minimal-values.yaml');
const FULL = path.join(CHART, 'ci/full-values.yaml');
const RELEASE = 'sy';
const NAMESPACE = 'gateway';

/** Values of the Secrets ci/full-values.yaml names but the chart does not create (as an operator would). */
const EXISTING_SECRETS: Record<string, Record<string, string>> = {
  'switchyard-secrets': {
    SWITCHYARD_INTERNAL_TOKEN: 'existing-internal-token-0123456789',
    SWITCHYARD_ADMIN_TOKEN: 'existing-admin-token-0123456789',
    SWITCHYARD_SECRET_KEY: 'ab'.repeat(32),
  },
  'switchyard-external': {
    'database-url': 'mysql://switchyard:pw@mysql.db.svc:3306/switchyard',
    'redis-url': 'redis://:pw@redis.db.svc:6379',
  },
};
/** Read by the launcher bin/switchyard (Node flags), not by config.ts. */
const LAUNCHER_VARIABLES = new Set(['SWITCHYARD_NODE_OPTIONS']);

type Doc = Record<string, unknown>;

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    secretKeyRef?: { name: string; key: string };
    configMapKeyRef?: { name: string; key: string };
    fieldRef?: { fieldPath: string };
  };
}
interface Probe {
  httpGet?: { path: string; port: string | number };
  periodSeconds?: number;
  failureThreshold?: number;
}
interface Container {
  name: string;
  args?: string[];
  ports?: Array<{ name?: string; containerPort: number }>;
  env?: EnvVar[];
  envFrom?: Array<{ configMapRef?: { name: string }; secretRef?: { name: string } }>;
  startupProbe?: Probe;
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  securityContext?: {
    runAsNonRoot?: boolean;
    runAsUser?: number;
    readOnlyRootFilesystem?: boolean;
    allowPrivilegeEscalation?: boolean;
    capabilities?: { drop?: string[] };
  };
}
interface Deployment {
  metadata: { name: string; labels: Record<string, string> };
  spec: {
    replicas?: number;
    selector: { matchLabels: Record<string, string> };
    template: {
      metadata: { labels: Record<string, string>; annotations?: Record<string, string> };
      spec: {
        terminationGracePeriodSeconds?: number;
        securityContext?: { runAsNonRoot?: boolean; runAsUser?: number; seccompProfile?: { type: string } };
        containers: Container[];
      };
    };
  };
}
interface Service {
  metadata: { name: string };
  spec: {
    selector: Record<string, string>;
    ports: Array<{ name: string; port: number; targetPort: string | number }>;
  };
}
interface IngressPath {
  path: string;
  backend: { service: { name: string; port: { name?: string; number?: number } } };
}
interface Ingress {
  spec: {
    ingressClassName?: string;
    tls?: Array<{ secretName: string; hosts: string[] }>;
    rules: Array<{ host?: string; http: { paths: IngressPath[] } }>;
  };
}
interface NetworkPolicy {
  spec: {
    podSelector: { matchLabels: Record<string, string> };
    policyTypes: string[];
    ingress: Array<{
      from?: Array<{ podSelector?: { matchLabels: Record<string, string> } }>;
      ports?: Array<{ port: string | number }>;
    }>;
  };
}

/** One rendered chart, with lookups by kind and name. */
class Rendered {
  readonly docs: Doc[];
  constructor(readonly text: string) {
    this.docs = parseManifests(text);
  }
  all<T>(kind: string): T[] {
    return this.docs.filter((d) => d.kind === kind) as T[];
  }
  one<T>(kind: string, name: string): T {
    const found = this.docs.find((d) => d.kind === kind && (d.metadata as { name?: string }).name === name);
    if (found === undefined) throw new Error(`no ${kind}/${name} rendered`);
    return found as T;
  }
  deployment(role: Role): Deployment {
    return this.one<Deployment>('Deployment', `${RELEASE}-switchyard-${role}`);
  }
  service(role: Role): Service {
    return this.one<Service>('Service', `${RELEASE}-switchyard-${role}`);
  }

  /** A secret value as the pod would see it: from a rendered Secret, else from EXISTING_SECRETS. */
  private secretValue(name: string, key: string): string {
    const secret = this.docs.find(
      (d) => d.kind === 'Secret' && (d.metadata as { name?: string }).name === name,
    ) as { data?: Record<string, string>; stringData?: Record<string, string> } | undefined;
    const value =
      secret === undefined
        ? EXISTING_SECRETS[name]?.[key]
        : (secret.stringData?.[key] ??
          (secret.data?.[key] === undefined
            ? undefined
            : Buffer.from(secret.data[key], 'base64').toString('utf8')));
    if (value === undefined) throw new Error(`secretKeyRef ${name}/${key} resolves to nothing`);
    return value;
  }

  /** The container's environment as Kubernetes assembles it (envFrom first, env entries win). */
  env(container: Container): Record<string, string> {
    const env: Record<string, string> = {};
    for (const from of container.envFrom ?? []) {
      if (from.configMapRef) {
        const cm = this.one<{ data?: Record<string, string> }>('ConfigMap', from.configMapRef.name);
        Object.assign(env, cm.data ?? {});
      } else if (from.secretRef) throw new Error('envFrom secretRef is not expected');
    }
    for (const e of container.env ?? []) {
      if (e.value !== undefined) env[e.name] = e.value;
      else if (e.valueFrom?.secretKeyRef)
        env[e.name] = this.secretValue(e.valueFrom.secretKeyRef.name, e.valueFrom.secretKeyRef.key);
      else if (e.valueFrom?.fieldRef?.fieldPath === 'metadata.name') env[e.name] = 'pod-name-7d9f';
      else throw new Error(`env ${e.name}: unsupported source ${JSON.stringify(e.valueFrom)}`);
    }
    return env;
  }
}

const DISTRIBUTED_ROLES = ROLES.filter((r): r is Exclude<Role, 'all'> => r !== 'all');

function render(values: string[], set: Record<string, string> = {}): Rendered {
  return new Rendered(helmTemplate(CHART, { release: RELEASE, namespace: NAMESPACE, values, set }));
}

function roleOf(d: Deployment): Role {
  const args = d.spec.template.spec.containers[0]!.args ?? [];
  const role = args[args.indexOf('--role') + 1] as Role;
  expect(ROLES).toContain(role);
  return role;
}

function matches(selector: Record<string, string>, labels: Record<string, string>): boolean {
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

const dockerfileUid = Number(
  /^USER (\d+)/m.exec(readFileSync(path.join(ROOT, 'deploy/Dockerfile'), 'utf8'))?.[1],
);

describe('Helm chart deploy/helm/switchyard', () => {
  let minimal: Rendered;
  let full: Rendered;
  beforeAll(() => {
    minimal = render([MINIMAL]);
    full = render([FULL]);
  }, 120_000);

  describe.each([
    ['ci/minimal-values.yaml', () => minimal],
    ['ci/full-values.yaml', () => full],
  ])('rendered with %s', (_name, rendered) => {
    it('passes the Kubernetes schemas strictly, one Deployment per role', () => {
      const r = rendered();
      expect(validateManifests(r.docs)).toEqual([]);
      expect(r.all<Deployment>('Deployment').map(roleOf).sort()).toEqual([...DISTRIBUTED_ROLES].sort());
      expect(r.text).toMatch(/^---\n# Source: switchyard\/templates\/[\w-]+\.yaml\n/);
    });

    it('sets only variables config.ts knows, with values it accepts, and meets every role requirement', () => {
      const r = rendered();
      const known = new Set(Object.keys(CONFIG_SCHEMA.shape));
      for (const d of r.all<Deployment>('Deployment')) {
        const container = d.spec.template.spec.containers[0]!;
        const env = r.env(container);
        const unknown = Object.keys(env).filter(
          (k) => k.startsWith('SWITCHYARD_') && !known.has(k) && !LAUNCHER_VARIABLES.has(k),
        );
        expect(unknown, d.metadata.name).toEqual([]);
        const role = roleOf(d);
        const config = loadConfig(env);
        expect(() => requireForRole(role, config)).not.toThrow();
        expect(config.http.port).toBe(container.ports!.find((p) => p.name === 'http')!.containerPort);
      }
      for (const cm of r.all<{ metadata: { name: string }; data: Record<string, string> }>('ConfigMap')) {
        const unknown = Object.keys(cm.data).filter((k) => !known.has(k));
        expect(unknown, cm.metadata.name).toEqual([]);
        expect(() => loadConfig(cm.data)).not.toThrow();
      }
    });

    it('gives each Service pods to select and container ports to target', () => {
      const r = rendered();
      const deployments = r.all<Deployment>('Deployment');
      for (const svc of r.all<Service>('Service')) {
        const targets = deployments.filter((d) =>
          matches(svc.spec.selector, d.spec.template.metadata.labels),
        );
        expect(
          targets.map((d) => d.metadata.name),
          svc.metadata.name,
        ).toHaveLength(1);
        const ports = targets[0]!.spec.template.spec.containers[0]!.ports ?? [];
        for (const p of svc.spec.ports) {
          const hit = ports.find((c) => c.name === p.targetPort || c.containerPort === p.targetPort);
          expect(hit, `${svc.metadata.name} port ${p.name}`).toBeDefined();
        }
      }
      for (const d of deployments) {
        expect(matches(d.spec.selector.matchLabels, d.spec.template.metadata.labels)).toBe(true);
        // Selectors must not overlap, or one role's Service would send traffic to another role's pods.
        const others = deployments.filter(
          (o) => o !== d && matches(d.spec.selector.matchLabels, o.spec.template.metadata.labels),
        );
        expect(others).toEqual([]);
      }
    });

    it('probes /healthz and /readyz on the port named http, and drains longer than endpoints take to notice', () => {
      const r = rendered();
      for (const d of r.all<Deployment>('Deployment')) {
        const c = d.spec.template.spec.containers[0]!;
        expect(c.startupProbe?.httpGet).toEqual({ path: '/healthz', port: 'http' });
        expect(c.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 'http' });
        expect(c.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 'http' });
        const drainMs = loadConfig(r.env(c)).shutdownDrainDelayMs;
        // The process forces its exit at drain delay + 30 s (cli.ts): the grace period must outlast it.
        expect(d.spec.template.spec.terminationGracePeriodSeconds).toBeGreaterThan(drainMs / 1000 + 30);
        if (roleOf(d) !== 'accounting') {
          const readiness = c.readinessProbe!;
          expect(drainMs).toBeGreaterThan(readiness.periodSeconds! * readiness.failureThreshold! * 1000);
        }
      }
    });

    it('runs as the image user, non-root, read-only, no capabilities, RuntimeDefault seccomp', () => {
      expect(dockerfileUid).toBe(10001);
      for (const d of rendered().all<Deployment>('Deployment')) {
        const pod = d.spec.template.spec;
        expect(pod.securityContext).toMatchObject({
          runAsNonRoot: true,
          runAsUser: dockerfileUid,
          seccompProfile: { type: 'RuntimeDefault' },
        });
        expect(pod.containers[0]!.securityContext).toMatchObject({
          runAsNonRoot: true,
          runAsUser: dockerfileUid,
          readOnlyRootFilesystem: true,
          allowPrivilegeEscalation: false,
          capabilities: { drop: ['ALL'] },
        });
      }
    });

    it("points the relays at the control-plane Service's gRPC port, which reaches the container's gRPC listener", () => {
      const r = rendered();
      const relayEnv = r.env(r.deployment('relay').spec.template.spec.containers[0]!);
      const [host, port] = relayEnv.SWITCHYARD_CONTROL_PLANE_URL!.split(':');
      const svc = r.service('control-plane');
      expect(host).toBe(`${svc.metadata.name}.${NAMESPACE}.svc`);
      const grpc = svc.spec.ports.find((p) => p.name === 'grpc')!;
      expect(Number(port)).toBe(grpc.port);
      const cp = r.deployment('control-plane').spec.template.spec.containers[0]!;
      const target = cp.ports!.find((p) => p.name === grpc.targetPort)!;
      expect(target.containerPort).toBe(loadConfig(r.env(cp)).internal.grpcPort);
    });
  });

  it('answers 200 on the probed paths in the code (the ops app every role mounts)', async () => {
    const app = createOpsApp(new Registry(), () => Promise.resolve({ ready: true, checks: {} }));
    finishApp(app);
    const http = await listenHttp(app, '127.0.0.1', 0);
    try {
      const probed = new Set(
        minimal.all<Deployment>('Deployment').flatMap((d) => {
          const c = d.spec.template.spec.containers[0]!;
          return [c.startupProbe, c.livenessProbe, c.readinessProbe].map((p) => p!.httpGet!.path);
        }),
      );
      expect([...probed].sort()).toEqual(['/healthz', '/readyz']);
      for (const p of probed) expect((await fetch(`${http.url}${p}`)).status, p).toBe(200);
      expect((await fetch(`${http.url}/not-a-probe`)).status).toBe(404);
    } finally {
      await closeHttp(http.server, () => Promise.resolve());
    }
  });

  it('with autoscaling on (the default), an HPA targets the relay Deployment, which sets no replicas', () => {
    const hpas = minimal.all<{
      spec: { scaleTargetRef: { apiVersion: string; kind: string; name: string }; minReplicas: number };
    }>('HorizontalPodAutoscaler');
    expect(hpas).toHaveLength(1);
    const relay = minimal.deployment('relay');
    expect(hpas[0]!.spec.scaleTargetRef).toEqual({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      name: relay.metadata.name,
    });
    expect(relay.spec.replicas).toBeUndefined();
    expect(minimal.deployment('control-plane').spec.replicas).toBe(2);
  });

  it('prints integer settings from values files as integers (helm reads them as float64)', () => {
    const env = full.env(full.deployment('relay').spec.template.spec.containers[0]!);
    expect(env.SWITCHYARD_HOLD_TTL_MS).toBe('86400000');
    expect(env.SWITCHYARD_MAX_ATTEMPTS).toBe('4');
  });

  it('with autoscaling off, no HPA and the relay Deployment has relay.replicaCount', () => {
    expect(full.all('HorizontalPodAutoscaler')).toEqual([]);
    expect(full.deployment('relay').spec.replicas).toBe(3);
  });

  it('types --set values like helm: an integer replica count passes the schema and reaches the Deployment', () => {
    const r = render([MINIMAL], { 'relay.autoscaling.enabled': 'false', 'relay.replicaCount': '5' });
    expect(r.deployment('relay').spec.replicas).toBe(5);
  });

  it('selects the relay pods with the PodDisruptionBudget', () => {
    for (const r of [minimal, full]) {
      const pdb = r.one<{
        spec: {
          selector: { matchLabels: Record<string, string> };
          minAvailable?: number;
          maxUnavailable?: number;
        };
      }>('PodDisruptionBudget', `${RELEASE}-switchyard-relay`);
      const relayLabels = r.deployment('relay').spec.template.metadata.labels;
      expect(matches(pdb!.spec.selector.matchLabels, relayLabels)).toBe(true);
      expect(
        matches(pdb!.spec.selector.matchLabels, r.deployment('control-plane').spec.template.metadata.labels),
      ).toBe(false);
    }
    const relayPdb = full.one<{ spec: object }>('PodDisruptionBudget', `${RELEASE}-switchyard-relay`);
    expect(relayPdb.spec).toMatchObject({ maxUnavailable: 1 });
    expect(relayPdb.spec).not.toHaveProperty('minAvailable');
  });

  it('runs two control-plane replicas by default, kept one at a time by their own PodDisruptionBudget', () => {
    expect(minimal.deployment('control-plane').spec.replicas).toBe(2);
    const pdb = minimal.one<{
      spec: { selector: { matchLabels: Record<string, string> }; maxUnavailable?: number };
    }>('PodDisruptionBudget', `${RELEASE}-switchyard-control-plane`);
    expect(pdb.spec.maxUnavailable).toBe(1);
    for (const role of ['control-plane', 'relay', 'accounting'] as const)
      expect(
        matches(pdb.spec.selector.matchLabels, minimal.deployment(role).spec.template.metadata.labels),
        role,
      ).toBe(role === 'control-plane');
    const off = render([MINIMAL], { 'controlPlane.pdb.enabled': 'false' });
    expect(off.all('PodDisruptionBudget')).toHaveLength(1);
  });

  it('routes the ingress to existing Services and ports: clients to the relays, /admin and /v1/dashboard to the control plane', () => {
    expect(minimal.all('Ingress')).toEqual([]);
    const [ingress] = full.all<Ingress>('Ingress');
    expect(ingress!.spec.ingressClassName).toBe('nginx');
    expect(ingress!.spec.tls).toEqual([{ secretName: 'llm-example-com-tls', hosts: ['llm.example.com'] }]);
    const byPath = new Map<string, string>();
    for (const rule of ingress!.spec.rules) {
      expect(rule.host).toBe('llm.example.com');
      for (const p of rule.http.paths) {
        const svc = full.one<Service>('Service', p.backend.service.name);
        expect(
          svc.spec.ports.some(
            (sp) => sp.name === p.backend.service.port.name || sp.port === p.backend.service.port.number,
          ),
        ).toBe(true);
        byPath.set(p.path, svc.metadata.name);
      }
    }
    expect(Object.fromEntries(byPath)).toEqual({
      '/': full.service('relay').metadata.name,
      '/admin': full.service('control-plane').metadata.name,
      '/v1/dashboard': full.service('control-plane').metadata.name,
    });
  });

  it('lets only relay pods reach the control plane gRPC port through the NetworkPolicy', () => {
    expect(minimal.all('NetworkPolicy')).toEqual([]);
    const [policy] = full.all<NetworkPolicy>('NetworkPolicy');
    const label = (role: Role): Record<string, string> => full.deployment(role).spec.template.metadata.labels;
    expect(matches(policy!.spec.podSelector.matchLabels, label('control-plane'))).toBe(true);
    expect(matches(policy!.spec.podSelector.matchLabels, label('relay'))).toBe(false);
    expect(policy!.spec.policyTypes).toEqual(['Ingress']);
    const cpPorts = full.deployment('control-plane').spec.template.spec.containers[0]!.ports!;
    const resolve = (port: string | number): number | undefined =>
      typeof port === 'number' ? port : cpPorts.find((p) => p.name === port)?.containerPort;
    const grpcPort = cpPorts.find((p) => p.name === 'grpc')!.containerPort;
    const grpcRules = policy!.spec.ingress.filter((rule) =>
      (rule.ports ?? []).some((p) => resolve(p.port) === grpcPort),
    );
    expect(grpcRules).toHaveLength(1);
    const from = grpcRules[0]!.from ?? [];
    expect(from.length).toBeGreaterThan(0);
    for (const peer of from) {
      expect(peer.podSelector, 'a peer without podSelector admits more than relays').toBeDefined();
      expect(matches(peer.podSelector!.matchLabels, label('relay'))).toBe(true);
      expect(matches(peer.podSelector!.matchLabels, label('accounting'))).toBe(false);
    }
    // A rule without ports would open every port, gRPC included.
    for (const rule of policy!.spec.ingress) expect(rule.ports?.length ?? 0).toBeGreaterThan(0);
  });

  it('scrapes every role on the port named http with the ServiceMonitor', () => {
    expect(minimal.all('ServiceMonitor')).toEqual([]);
    const [monitor] = full.all<{
      metadata: { labels: Record<string, string> };
      spec: {
        selector: { matchLabels: Record<string, string> };
        endpoints: Array<{ port: string; path: string }>;
      };
    }>('ServiceMonitor');
    expect(monitor!.metadata.labels.release).toBe('kube-prometheus-stack');
    expect(monitor!.spec.endpoints).toMatchObject([{ port: 'http', path: '/metrics' }]);
    const selected = full
      .all<Service & { metadata: { labels: Record<string, string> } }>('Service')
      .filter((s) => matches(monitor!.spec.selector.matchLabels, s.metadata.labels));
    expect(selected).toHaveLength(3);
    for (const s of selected) expect(s.spec.ports.map((p) => p.name)).toContain('http');
  });

  it('with existing Secrets renders no Secret and points every reference at the given names', () => {
    expect(minimal.all('Secret')).toHaveLength(1);
    expect(full.all('Secret')).toEqual([]);
    const refs = full
      .all<Deployment>('Deployment')
      .flatMap((d) => d.spec.template.spec.containers[0]!.env ?? [])
      .flatMap((e) => (e.valueFrom?.secretKeyRef ? [{ env: e.name, ...e.valueFrom.secretKeyRef }] : []));
    expect(refs.length).toBeGreaterThan(0);
    for (const ref of refs) {
      const expected = ['SWITCHYARD_DATABASE_URL', 'SWITCHYARD_REDIS_URL'].includes(ref.env)
        ? 'switchyard-external'
        : 'switchyard-secrets';
      expect(ref.name, ref.env).toBe(expected);
    }
    expect(full.text).not.toContain('checksum/secret');
  });

  it('uses the chart appVersion (the root package.json version) as the default image tag', () => {
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(readFileSync(path.join(CHART, 'Chart.yaml'), 'utf8')).toMatch(
      new RegExp(`^appVersion: '${pkg.version}'$`, 'm'),
    );
    for (const d of minimal.all<Deployment>('Deployment')) {
      expect((d.spec.template.spec.containers[0] as { image?: string }).image).toBe(
        `ghcr.io/switchyard/switchyard:${pkg.version}`,
      );
    }
    expect((full.deployment('relay').spec.template.spec.containers[0] as { image?: string }).image).toBe(
      'registry.example.com/switchyard:0.1.0-test',
    );
  });

  it("changes a role's checksum annotation when its config changes, and only then", () => {
    const annotations = (r: Rendered, role: Role): Record<string, string> =>
      r.deployment(role).spec.template.metadata.annotations ?? {};
    const again = render([MINIMAL]);
    const changed = render([MINIMAL], { 'relay.config.SWITCHYARD_MAX_ATTEMPTS': '5' });
    const rotated = render([MINIMAL], { 'secrets.adminToken': 'another-admin-token-0123456789' });
    expect(annotations(minimal, 'relay')['checksum/config']).toMatch(/^[0-9a-f]{64}$/);
    expect(annotations(again, 'relay')).toEqual(annotations(minimal, 'relay'));
    expect(annotations(changed, 'relay')['checksum/config']).not.toBe(
      annotations(minimal, 'relay')['checksum/config'],
    );
    expect(annotations(changed, 'control-plane')['checksum/config']).toBe(
      annotations(minimal, 'control-plane')['checksum/config'],
    );
    expect(annotations(rotated, 'control-plane')['checksum/secret']).not.toBe(
      annotations(minimal, 'control-plane')['checksum/secret'],
    );
  });

  it.each(['minimal-values.yaml', 'full-values.yaml', 'declarative-values.yaml'])(
    'passes `helm lint --strict` with ci/%s',
    (file) => {
      expect(helmLint(CHART, { values: [path.join(CHART, 'ci', file)] })).toMatch(
        /1 chart\(s\) linted, 0 chart\(s\) failed/,
      );
    },
  );

  it('is rendered by the real Helm, pinned', () => {
    expect(execFileSync(helmBinary(), ['version', '--short'], { encoding: 'utf8' })).toMatch(
      new RegExp(`^${HELM_VERSION.replace(/\./g, '\\.')}\\+g[0-9a-f]+`),
    );
  });

  describe('refuses to render without what the chart does not ship', () => {
    it.each([
      ['mysql.url', { 'mysql.url': '' }],
      ['redis.url', { 'redis.url': '' }],
      ['nats.url', { 'nats.url': '' }],
      ['secrets.internalToken', { 'secrets.internalToken': '' }],
      ['secrets.adminToken', { 'secrets.adminToken': '' }],
      ['secrets.secretKey', { 'secrets.secretKey': '' }],
    ])('names %s when it is missing', (name, set) => {
      expect(() => render([MINIMAL], set)).toThrow(new RegExp(`${name.replace('.', '\\.')} is required`));
    });

    it('names the first missing value with no values at all', () => {
      expect(() => render([])).toThrow(/mysql\.url is required/);
    });

    it('rejects values the schema forbids, naming them', () => {
      const attempt = (): Rendered =>
        render([MINIMAL], { 'secrets.adminToken': 'short', 'relay.autoscaling.enabled': 'maybe' });
      expect(attempt).toThrow(/secrets\.adminToken: Does not match pattern/);
      expect(attempt).toThrow(/relay\.autoscaling\.enabled: Invalid type\. Expected: boolean/);
    });
  });
});

/**
 * Configuration as code (values `declarative.*`): switchyard.yaml in a ConfigMap mounted into the
 * control plane only, named by its SWITCHYARD_CONFIG_FILE, its secrets from the control plane's env and
 * a mounted Secret — and the rendered file accepted by a real control plane.
 */
describe('Helm chart deploy/helm/switchyard: declarative configuration (ci/declarative-values.yaml)', () => {
  const DECLARATIVE = path.join(CHART, 'ci/declarative-values.yaml');
  const CONFIG_MAP = `${RELEASE}-switchyard-declarative`;

  interface Volume {
    name: string;
    configMap?: { name: string; items?: Array<{ key: string; path: string }> };
    secret?: { secretName: string; items?: Array<{ key: string; path: string }> };
  }
  interface Mount {
    name: string;
    mountPath: string;
    readOnly?: boolean;
    subPath?: string;
  }
  const podSpec = (d: Deployment): { volumes?: Volume[] } => d.spec.template.spec as { volumes?: Volume[] };
  const mountsOf = (c: Container): Mount[] => (c as { volumeMounts?: Mount[] }).volumeMounts ?? [];
  const containerOf = (r: Rendered, role: Role): Container =>
    r.deployment(role).spec.template.spec.containers[0]!;

  /** The container's plain (non-Secret) environment: its ConfigMaps, then its `value` entries. */
  function plainEnv(r: Rendered, c: Container): Record<string, string> {
    const env: Record<string, string> = {};
    for (const from of c.envFrom ?? [])
      Object.assign(env, r.one<{ data: Record<string, string> }>('ConfigMap', from.configMapRef!.name).data);
    for (const e of c.env ?? []) if (e.value !== undefined) env[e.name] = e.value;
    return env;
  }

  /** The file SWITCHYARD_CONFIG_FILE names, as the pod sees it: the mount it lies in and its volume. */
  function configFileSource(r: Rendered): { file: string; mount: Mount; volume: Volume } {
    const d = r.deployment('control-plane');
    const file = plainEnv(r, containerOf(r, 'control-plane')).SWITCHYARD_CONFIG_FILE;
    expect(file, 'SWITCHYARD_CONFIG_FILE').toBeDefined();
    const mount = mountsOf(containerOf(r, 'control-plane')).find(
      (m) => m.subPath === undefined && path.posix.join(m.mountPath, path.posix.basename(file!)) === file,
    );
    expect(mount, `a volume mounted at ${path.posix.dirname(file!)}`).toBeDefined();
    const volume = podSpec(d).volumes?.find((v) => v.name === mount!.name);
    expect(volume, `volume ${mount!.name}`).toBeDefined();
    return { file: file!, mount: mount!, volume: volume! };
  }

  let rendered: Rendered;
  beforeAll(() => {
    rendered = render([DECLARATIVE]);
  }, 120_000);

  it('when enabled, then the manifests pass the Kubernetes schemas strictly and the control plane accepts its settings', () => {
    expect(validateManifests(rendered.docs)).toEqual([]);
    const env = plainEnv(rendered, containerOf(rendered, 'control-plane'));
    const known = new Set(Object.keys(CONFIG_SCHEMA.shape));
    expect(Object.keys(env).filter((k) => k.startsWith('SWITCHYARD_') && !known.has(k))).toEqual([]);
    expect(loadConfig(env).configFile).toBe('/etc/switchyard/config/switchyard.yaml');
  });

  it('when enabled, then SWITCHYARD_CONFIG_FILE names the key switchyard.yaml of the chart ConfigMap, mounted read-only', () => {
    const { file, mount, volume } = configFileSource(rendered);
    expect(mount.readOnly).toBe(true);
    expect(volume.configMap?.name).toBe(CONFIG_MAP);
    const item = volume.configMap!.items?.find((i) => i.path === path.posix.basename(file));
    expect(item?.key).toBe('switchyard.yaml');
    const cm = rendered.one<{ metadata: { namespace: string }; data: Record<string, string> }>(
      'ConfigMap',
      CONFIG_MAP,
    );
    expect(cm.metadata.namespace).toBe(NAMESPACE);
    expect(Object.keys(cm.data)).toEqual(['switchyard.yaml']);
  });

  it('when enabled, then relays and accounting get neither the file, nor its mounts, nor its secret env', () => {
    const secretEnvNames = (containerOf(rendered, 'control-plane').env ?? [])
      .map((e) => e.name)
      .filter((n) => !n.startsWith('SWITCHYARD_'));
    expect(secretEnvNames.sort()).toEqual(['DATA_PIPELINE_KEY', 'OPENAI_API_KEY']);
    for (const role of ['relay', 'accounting'] as const) {
      const c = containerOf(rendered, role);
      expect(plainEnv(rendered, c).SWITCHYARD_CONFIG_FILE, role).toBeUndefined();
      expect(
        (c.env ?? []).map((e) => e.name).filter((n) => secretEnvNames.includes(n)),
        role,
      ).toEqual([]);
      expect(
        mountsOf(c).map((m) => m.name),
        role,
      ).toEqual(['data', 'tmp']);
      expect(
        podSpec(rendered.deployment(role)).volumes?.map((v) => v.name),
        role,
      ).toEqual(['data', 'tmp']);
    }
  });

  it('when the document changes, then the control plane checksum changes (it re-applies at start), and only its own', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'helm-declarative-'));
    try {
      const edited = path.join(dir, 'edited.yaml');
      writeFileSync(
        edited,
        'declarative:\n  config:\n    prices:\n      - { model: gpt-4o-mini, input_per_million: "0.2", output_per_million: "0.6" }\n',
      );
      const annotations = (r: Rendered, role: Role): Record<string, string> =>
        r.deployment(role).spec.template.metadata.annotations ?? {};
      const again = render([DECLARATIVE]);
      const changed = render([DECLARATIVE, edited]);
      const checksum = annotations(rendered, 'control-plane')['checksum/declarative'];
      expect(checksum).toMatch(/^[0-9a-f]{64}$/);
      expect(annotations(again, 'control-plane')['checksum/declarative']).toBe(checksum);
      expect(annotations(changed, 'control-plane')['checksum/declarative']).not.toBe(checksum);
      expect(
        changed.one<{ data: Record<string, string> }>('ConfigMap', CONFIG_MAP).data['switchyard.yaml'],
      ).toMatch(/input_per_million: "0.2"/);
      for (const role of ['relay', 'accounting'] as const) {
        expect(annotations(rendered, role)['checksum/declarative'], role).toBeUndefined();
        expect(annotations(changed, role), role).toEqual(annotations(rendered, role));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('when the rendered file is read in the pod layout and dry-run applied, then the control plane reports every entry and refuses nothing', async () => {
    const { file } = configFileSource(rendered);
    const text = rendered.one<{ data: Record<string, string> }>('ConfigMap', CONFIG_MAP).data[
      'switchyard.yaml'
    ]!;
    const doc = parseDocument(text);
    const c = containerOf(rendered, 'control-plane');
    const secretMounts = mountsOf(c).filter((m) =>
      podSpec(rendered.deployment('control-plane')).volumes?.some((v) => v.name === m.name && v.secret),
    );
    expect(secretMounts.map((m) => [m.mountPath, m.readOnly])).toEqual([['/etc/switchyard/secrets', true]]);
    // What the kubelet would put there: each secretKeyRef entry and each key of the mounted Secret.
    const env: Record<string, string> = {};
    for (const e of c.env ?? []) if (e.valueFrom?.secretKeyRef) env[e.name] = generatedSecret();
    const files: Record<string, string> = {};
    const refs = secretRefs(doc, file);
    expect(refs.filter((ref) => ref.file !== undefined)).not.toEqual([]);
    for (const ref of refs) {
      if (ref.env !== undefined) expect(Object.keys(env), ref.path).toContain(ref.env);
      if (ref.file !== undefined) {
        expect(path.posix.dirname(ref.file), `${ref.path} is a file of the mounted Secret`).toBe(
          secretMounts[0]!.mountPath,
        );
        files[ref.file] = `${generatedSecret()}\n`;
      }
    }
    const outcome = await dryRunInPodLayout({ text, configFile: file, env, files });
    expect(outcome.dryRun).toBe(true);
    const key = (c: { kind: string; name: string }): string => `${c.kind} ${c.name}`;
    expect(outcome.changes.map(key).sort()).toEqual(declaredEntries(doc).map(key).sort());
    expect(outcome.changes.filter((c) => c.action === 'deleted' || c.action === 'disabled')).toEqual([]);
    // An empty database: everything is new, but the seeded default group and price table are adopted.
    expect(new Set(outcome.changes.map((c) => c.action))).toEqual(new Set(['created', 'updated']));
  }, 60_000);

  it('with existingConfigMap, then the chart renders no ConfigMap of its own and mounts the named one', () => {
    const r = render([DECLARATIVE], { 'declarative.existingConfigMap': 'my-switchyard-yaml' });
    expect(validateManifests(r.docs)).toEqual([]);
    expect(() => r.one('ConfigMap', CONFIG_MAP)).toThrow(/no ConfigMap/);
    const { volume } = configFileSource(r);
    expect(volume.configMap?.name).toBe('my-switchyard-yaml');
    expect(volume.configMap?.items).toEqual([{ key: 'switchyard.yaml', path: 'switchyard.yaml' }]);
    expect(
      r.deployment('control-plane').spec.template.metadata.annotations?.['checksum/declarative'],
    ).toBeUndefined();
  });

  it('when disabled (the default), then no role has a file, a declarative volume or the declared secret env', () => {
    const r = render([MINIMAL]);
    expect(r.docs.filter((d) => (d.metadata as { name?: string }).name === CONFIG_MAP)).toEqual([]);
    for (const role of DISTRIBUTED_ROLES) {
      const c = containerOf(r, role);
      expect(plainEnv(r, c).SWITCHYARD_CONFIG_FILE, role).toBeUndefined();
      expect(
        mountsOf(c).map((m) => m.name),
        role,
      ).toEqual(['data', 'tmp']);
    }
  });

  it('when enabled without a document or a ConfigMap, or with another version, then rendering fails naming the value', () => {
    expect(() => render([MINIMAL], { 'declarative.enabled': 'true' })).toThrow(
      /declarative\.enabled needs declarative\.config/,
    );
    expect(() => render([DECLARATIVE], { 'declarative.config.version': '2' })).toThrow(
      /declarative\.config\.version/,
    );
  });
});
