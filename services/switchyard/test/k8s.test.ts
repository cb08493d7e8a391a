import { randomBytes } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../adapters/test/mysql-test-database.js';
import { CONFIG_SCHEMA, loadConfig, type SwitchyardConfig } from '../src/config.js';
import { requireForRole, type Role } from '../src/role-requirements.js';
import { startAccountingRole, startControlPlaneRole, startRelayRole, type RoleHandle } from '../src/index.js';
import { distributedSuite, NATS_URL, quietLogger, REDIS_URL } from './distributed-harness.js';
import {
  declaredEntries,
  dryRunInPodLayout,
  generatedSecret,
  parseDocument,
  secretRefs,
} from './declarative-dry-run.js';
import { gatewayRefuses } from './secret-refusal.js';
import { kustomize, parseManifests, validateManifest, validateManifests } from './k8s-schema.js';

/**
 * The Kubernetes bases: k8s/ (the distributed roles) and k8s/all-in-one/, rendered by the real
 * `kubectl kustomize`, validated against the Kubernetes OpenAPI schemas (strictly: unknown fields
 * are errors), and checked against the code they deploy: every probe is answered 200 by the running
 * role on the port it names, every variable is one the role accepts, every selector and port name
 * meets its target. No cluster runs here, so each assertion is something that would break a real one.
 */

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const read = (rel: string): string => readFileSync(path.join(ROOT, rel), 'utf8');

type Doc = Record<string, unknown>;

// ---- reading rendered manifests -------------------------------------------------------------------

function get(value: unknown, ...keys: Array<string | number>): unknown {
  let v = value;
  for (const k of keys) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string | number, unknown>)[k];
  }
  return v;
}
function obj(value: unknown, what: string): Doc {
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new Error(`${what}: not a mapping`);
  return value as Doc;
}
function list(value: unknown, what: string): unknown[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new Error(`${what}: not a list`);
  return value;
}
const text = (value: unknown, what: string): string => {
  if (typeof value !== 'string') throw new Error(`${what}: not a string`);
  return value;
};
const labelsOf = (value: unknown, what: string): Record<string, string> =>
  obj(value ?? {}, what) as Record<string, string>;

const nameOf = (doc: Doc): string => text(get(doc, 'metadata', 'name'), 'metadata.name');

/** A Kubernetes label selector (matchLabels and matchExpressions) applied to a set of labels. */
function selects(selector: unknown, labels: Record<string, string>): boolean {
  const sel = obj(selector, 'selector');
  for (const [k, v] of Object.entries(labelsOf(sel.matchLabels, 'matchLabels')))
    if (labels[k] !== v) return false;
  for (const raw of list(sel.matchExpressions, 'matchExpressions')) {
    const e = obj(raw, 'matchExpression');
    const key = text(e.key, 'key');
    const values = list(e.values, 'values').map((v) => text(v, 'value'));
    const has = key in labels;
    const ok =
      e.operator === 'In'
        ? has && values.includes(labels[key]!)
        : e.operator === 'NotIn'
          ? !has || !values.includes(labels[key]!)
          : e.operator === 'Exists'
            ? has
            : e.operator === 'DoesNotExist'
              ? !has
              : false;
    if (!ok) return false;
  }
  return true;
}

/** A Service-style selector (a plain label map). */
const selectsMap = (selector: unknown, labels: Record<string, string>): boolean =>
  selects({ matchLabels: selector }, labels);

// ---- the rendered bases ---------------------------------------------------------------------------

const distributed = kustomize(path.join(ROOT, 'k8s'));
const allInOne = kustomize(path.join(ROOT, 'k8s/all-in-one'));
const secretExample = parseManifests(read('k8s/secret.example.yaml'));

const ofKind = (kind: string): Doc[] => distributed.filter((d) => d.kind === kind);
function one(kind: string, name?: string): Doc {
  const found = ofKind(kind).filter((d) => name === undefined || nameOf(d) === name);
  if (found.length !== 1)
    throw new Error(`expected one ${kind}${name ? ` ${name}` : ''}, found ${found.length}`);
  return found[0]!;
}

const ROLES = ['control-plane', 'relay', 'accounting'] as const satisfies readonly Role[];
type DistributedRole = (typeof ROLES)[number];

const podLabels = (dep: Doc): Record<string, string> =>
  labelsOf(get(dep, 'spec', 'template', 'metadata', 'labels'), 'template labels');
const deploymentOf = (role: DistributedRole): Doc => {
  const found = ofKind('Deployment').filter((d) => podLabels(d)['app.kubernetes.io/component'] === role);
  if (found.length !== 1) throw new Error(`expected one ${role} Deployment, found ${found.length}`);
  return found[0]!;
};
const podSpecOf = (dep: Doc): Doc => obj(get(dep, 'spec', 'template', 'spec'), 'pod spec');
const containerOf = (dep: Doc): Doc => {
  const containers = list(get(podSpecOf(dep), 'containers'), 'containers');
  expect(containers, `${nameOf(dep)}: one container`).toHaveLength(1);
  return obj(containers[0], 'container');
};
/** The container port a probe, Service or policy names (by name or number); undefined when none. */
function containerPort(dep: Doc, ref: unknown): number | undefined {
  const ports = list(containerOf(dep).ports, 'ports').map((p) => obj(p, 'port'));
  const found = ports.find((p) => (typeof ref === 'number' ? p.containerPort === ref : p.name === ref));
  return found === undefined ? undefined : Number(found.containerPort);
}

/** Valid values for each key of the example Secret, as `openssl rand -hex` would give them. */
const hex = (bytes: number): string => randomBytes(bytes).toString('hex');
const GENERATED: Record<string, string> = {
  SWITCHYARD_INTERNAL_TOKEN: hex(32),
  SWITCHYARD_ADMIN_TOKEN: hex(32),
  SWITCHYARD_SECRET_KEY: hex(32),
  SWITCHYARD_DATABASE_URL: `mysql://switchyard:${hex(16)}@mysql.example.internal:3306/switchyard`,
};

/**
 * A container's environment as the kubelet builds it: envFrom first (ConfigMaps of the base), then
 * env in order (a later entry wins), Secret keys taken from `secretValues`.
 */
function podEnv(dep: Doc, secretValues: Record<string, string>): Record<string, string> {
  const c = containerOf(dep);
  const secretName = nameOf(secretExample[0]!);
  const env: Record<string, string> = {};
  for (const raw of list(c.envFrom, 'envFrom')) {
    const cmName = text(get(raw, 'configMapRef', 'name'), 'envFrom: only configMapRef is used');
    Object.assign(env, labelsOf(one('ConfigMap', cmName).data, 'ConfigMap data'));
  }
  for (const raw of list(c.env, 'env')) {
    const e = obj(raw, 'env');
    const name = text(e.name, 'env name');
    if (typeof e.value === 'string') env[name] = e.value;
    else {
      const ref = obj(get(e, 'valueFrom', 'secretKeyRef'), `${name}: only secretKeyRef is used`);
      expect(ref.name, `${name}: Secret name`).toBe(secretName);
      const value = secretValues[text(ref.key, 'key')];
      if (value === undefined)
        throw new Error(`${name}: key ${String(ref.key)} is not in secret.example.yaml`);
      env[name] = value;
    }
  }
  return env;
}

const manifestConfig = (role: DistributedRole): Readonly<SwitchyardConfig> =>
  loadConfig(podEnv(deploymentOf(role), GENERATED));

// ---- the validator itself ---------------------------------------------------------------------------

const VALID_DEPLOYMENT = `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: probe
  labels: { app: probe }
  annotations: { note: free text }
spec:
  replicas: 2
  selector: { matchLabels: { app: probe } }
  template:
    metadata: { labels: { app: probe } }
    spec:
      containers:
        - name: probe
          image: example/probe:1
          ports: [{ name: http, containerPort: 8080 }]
          readinessProbe: { httpGet: { path: /readyz, port: http } }
          resources: { requests: { cpu: 100m, memory: 64Mi } }
`;
const validDeployment = (): Doc => parseManifests(VALID_DEPLOYMENT)[0]!;

describe('the manifest validator (k8s-schema.ts)', () => {
  it('when a document is valid, then it has no errors; empty YAML documents are dropped', () => {
    const docs = parseManifests(`---\n${VALID_DEPLOYMENT}\n---\n# only a comment\n---\n`);
    expect(docs).toHaveLength(1);
    expect(validateManifests(docs)).toEqual([]);
  });

  it('when replicas is a string, then the wrong type is reported at its path', () => {
    const doc = validDeployment();
    obj(doc.spec, 'spec').replicas = 'two';
    expect(validateManifest(doc)).toEqual([
      expect.stringMatching(/^Deployment\/probe: spec\.replicas: .*integer/),
    ]);
  });

  it('when a container has no name, then the missing required field is reported', () => {
    const doc = validDeployment();
    delete obj(get(doc, 'spec', 'template', 'spec', 'containers', 0), 'container').name;
    expect(validateManifest(doc)).toEqual([
      expect.stringMatching(/^Deployment\/probe: spec\.template\.spec\.containers\[0\]: .*name/),
    ]);
  });

  it('when a field is misspelt (containerPorts for ports), then the unknown field is reported, as kubeconform --strict does', () => {
    const doc = validDeployment();
    const c = obj(get(doc, 'spec', 'template', 'spec', 'containers', 0), 'container');
    c.containerPorts = c.ports;
    delete c.ports;
    expect(validateManifest(doc)).toEqual([
      expect.stringMatching(
        /^Deployment\/probe: spec\.template\.spec\.containers\[0\]\.containerPorts: unknown field/,
      ),
    ]);
  });

  it('when a CRD kind (ServiceMonitor) has an unknown field or an unknown apiVersion/kind is used, then both are errors', () => {
    const docs = parseManifests(`
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata: { name: sm }
spec:
  selector: { matchLabels: { app: probe } }
  endpoints: [{ port: http, path: /metrics, scrapeEvery: 30s }]
---
apiVersion: example.com/v1
kind: Widget
metadata: { name: w }
`);
    expect(validateManifests(docs)).toEqual([
      expect.stringMatching(/^ServiceMonitor\/sm: spec\.endpoints\[0\]\.scrapeEvery: unknown field/),
      expect.stringMatching(/^Widget\/w: .*unknown apiVersion\/kind/),
    ]);
  });
});

// ---- both bases -----------------------------------------------------------------------------------

describe('kubectl kustomize renders both bases into valid manifests', () => {
  it('when k8s/ is rendered, then every document passes the strict schema check and every role is there', () => {
    expect(validateManifests(distributed)).toEqual([]);
    const kinds = distributed.map((d) => `${String(d.kind)}/${nameOf(d)}`).sort();
    expect(kinds).toEqual(
      [
        'ConfigMap/switchyard-config',
        'Deployment/switchyard-accounting',
        'Deployment/switchyard-control-plane',
        'Deployment/switchyard-relay',
        'HorizontalPodAutoscaler/switchyard-relay',
        'Namespace/switchyard',
        'NetworkPolicy/switchyard-control-plane',
        'PodDisruptionBudget/switchyard-control-plane',
        'PodDisruptionBudget/switchyard-relay',
        'Service/switchyard-accounting',
        'Service/switchyard-control-plane',
        'Service/switchyard-relay',
        'ServiceMonitor/switchyard',
      ].sort(),
    );
    for (const role of ROLES) expect(() => deploymentOf(role)).not.toThrow();
  });

  it('when k8s/all-in-one/ is rendered, then every document passes the strict schema check', () => {
    expect(validateManifests(allInOne)).toEqual([]);
    expect(allInOne.map((d) => d.kind).sort()).toEqual([
      'Deployment',
      'Namespace',
      'PersistentVolumeClaim',
      'Service',
    ]);
  });

  it('when either base is applied, then everything lands in namespace switchyard and no Secret is among it', () => {
    for (const docs of [distributed, allInOne]) {
      expect(docs.some((d) => d.kind === 'Secret')).toBe(false);
      for (const d of docs.filter((x) => x.kind !== 'Namespace'))
        expect(get(d, 'metadata', 'namespace'), nameOf(d)).toBe('switchyard');
    }
    // Applied on its own (kubectl apply -f), so it must name that namespace itself.
    expect(secretExample).toHaveLength(1);
    expect(get(secretExample[0], 'metadata', 'namespace')).toBe('switchyard');
    expect(validateManifests(secretExample)).toEqual([]);
  });

  it('when every object is labelled, then it carries the recommended name, component and part-of labels', () => {
    for (const d of distributed.filter((x) => x.kind !== 'Namespace')) {
      const labels = labelsOf(get(d, 'metadata', 'labels'), nameOf(d));
      expect(labels['app.kubernetes.io/name'], nameOf(d)).toBe('switchyard');
      expect(labels['app.kubernetes.io/part-of'], nameOf(d)).toBe('switchyard');
    }
    for (const role of ROLES) {
      const dep = deploymentOf(role);
      expect(labelsOf(get(dep, 'metadata', 'labels'), 'labels')['app.kubernetes.io/component']).toBe(role);
      expect(podLabels(dep)['app.kubernetes.io/part-of']).toBe('switchyard');
      // A selector must not carry part-of: selectors are immutable, labels may change.
      expect(Object.keys(labelsOf(get(dep, 'spec', 'selector', 'matchLabels'), 'matchLabels'))).not.toContain(
        'app.kubernetes.io/part-of',
      );
    }
  });
});

// ---- configuration ------------------------------------------------------------------------------

const CONFIG_KEYS = new Set(Object.keys(CONFIG_SCHEMA.shape));

describe('the distributed base: configuration', () => {
  it('when each role starts, then it runs `serve --role <role>` and its merged environment (ConfigMap, env, Secret) satisfies that role', () => {
    for (const role of ROLES) {
      const dep = deploymentOf(role);
      expect(list(containerOf(dep).args, 'args')).toEqual(['serve', '--role', role]);
      const env = podEnv(dep, GENERATED);
      for (const name of Object.keys(env))
        expect(CONFIG_KEYS.has(name), `${role}: ${name} is not a config key`).toBe(true);
      const config = loadConfig(env);
      expect(() => requireForRole(role, config), role).not.toThrow();
    }
  });

  it('when the ConfigMap is loaded with envFrom, then each of its keys is a config key with a value the gateway accepts', () => {
    const data = labelsOf(one('ConfigMap').data, 'data');
    expect(Object.keys(data).length).toBeGreaterThanOrEqual(4);
    for (const [name, value] of Object.entries(data)) {
      expect(CONFIG_KEYS.has(name), `${name} is not a config key`).toBe(true);
      expect(() => loadConfig({ [name]: value }), `${name}=${value}`).not.toThrow();
    }
  });

  it('when a role reads Secret keys, then it reads only those it needs (relays never see the admin token, the key or the database)', () => {
    const secretKeys = (role: DistributedRole): string[] =>
      list(containerOf(deploymentOf(role)).env, 'env')
        .map((e) => get(e, 'valueFrom', 'secretKeyRef', 'key'))
        .filter((k): k is string => typeof k === 'string')
        .sort();
    expect(secretKeys('relay')).toEqual(['SWITCHYARD_INTERNAL_TOKEN']);
    expect(secretKeys('accounting')).toEqual(['SWITCHYARD_DATABASE_URL', 'SWITCHYARD_INTERNAL_TOKEN']);
    expect(secretKeys('control-plane')).toEqual([
      'SWITCHYARD_ADMIN_TOKEN',
      'SWITCHYARD_DATABASE_URL',
      'SWITCHYARD_INTERNAL_TOKEN',
      'SWITCHYARD_SECRET_KEY',
    ]);
    // No Secret is loaded whole into any role either.
    for (const role of ROLES)
      for (const from of list(containerOf(deploymentOf(role)).envFrom, 'envFrom'))
        expect(get(from, 'secretRef'), role).toBeUndefined();
  });

  it('when the example Secret is applied unedited, then the gateway refuses every value, and accepts generated ones', async () => {
    const data = labelsOf(get(secretExample[0], 'stringData'), 'stringData');
    expect(Object.keys(data).sort()).toEqual(Object.keys(GENERATED).sort());
    for (const [name, value] of Object.entries(data)) {
      expect(await gatewayRefuses(name, value), `${name}=${value}`).toBe(true);
      expect(await gatewayRefuses(name, GENERATED[name]!), `${name}=<generated>`).toBe(false);
    }
  });

  it("when relays dial the control plane, then SWITCHYARD_CONTROL_PLANE_URL is the control-plane Service's gRPC port, which targets the control plane's gRPC port", () => {
    const url = manifestConfig('relay').internal.controlPlaneUrl;
    expect(url).not.toBeNull();
    const [host, port] = url!.split(':');
    const svc = one('Service', 'switchyard-control-plane');
    expect([nameOf(svc), `${nameOf(svc)}.switchyard`, `${nameOf(svc)}.switchyard.svc`]).toContain(host);
    const svcPort = list(get(svc, 'spec', 'ports'), 'ports')
      .map((p) => obj(p, 'port'))
      .find((p) => p.port === Number(port));
    expect(svcPort, `Service port ${port}`).toBeDefined();
    const cp = deploymentOf('control-plane');
    expect(containerPort(cp, svcPort!.targetPort)).toBe(manifestConfig('control-plane').internal.grpcPort);
    expect(containerPort(cp, 'grpc')).toBe(manifestConfig('control-plane').internal.grpcPort);
  });

  it('when a pod is stopped, then its grace period outlasts the drain delay + 30 s, and relays drain longer than readiness takes to fail', () => {
    for (const role of ROLES) {
      const dep = deploymentOf(role);
      const drainMs = manifestConfig(role).shutdownDrainDelayMs;
      // cli.ts forces the exit at drain delay + 30 s; Kubernetes must not SIGKILL it before.
      expect(Number(get(podSpecOf(dep), 'terminationGracePeriodSeconds')), role).toBeGreaterThan(
        drainMs / 1000 + 30,
      );
      if (role === 'accounting') continue;
      // Endpoints must have dropped the pod (readiness failed) before the listener closes.
      const readiness = obj(containerOf(dep).readinessProbe, 'readinessProbe');
      const failAfterMs = Number(readiness.periodSeconds) * Number(readiness.failureThreshold) * 1000;
      expect(drainMs, role).toBeGreaterThan(failAfterMs);
    }
    expect(manifestConfig('relay').shutdownDrainDelayMs).toBeGreaterThanOrEqual(5000);
  });
});

// ---- pods ---------------------------------------------------------------------------------------

describe('the distributed base: pods', () => {
  it('when any role runs, then it is non-root as the image uid, read-only, without capabilities, under RuntimeDefault seccomp, with requests and limits', () => {
    const uid = Number(/^USER\s+(\d+)/m.exec(read('deploy/Dockerfile'))?.[1]);
    expect(uid).toBeGreaterThan(0);
    for (const role of ROLES) {
      const dep = deploymentOf(role);
      const pod = podSpecOf(dep);
      const c = containerOf(dep);
      expect(get(pod, 'securityContext', 'runAsNonRoot'), role).toBe(true);
      expect(get(pod, 'securityContext', 'runAsUser'), role).toBe(uid);
      expect(get(pod, 'securityContext', 'seccompProfile', 'type'), role).toBe('RuntimeDefault');
      expect(get(pod, 'automountServiceAccountToken'), role).toBe(false);
      expect(get(c, 'securityContext', 'runAsUser'), role).toBe(uid);
      expect(get(c, 'securityContext', 'readOnlyRootFilesystem'), role).toBe(true);
      expect(get(c, 'securityContext', 'allowPrivilegeEscalation'), role).toBe(false);
      expect(get(c, 'securityContext', 'capabilities', 'drop'), role).toEqual(['ALL']);
      for (const kind of ['requests', 'limits'])
        for (const r of ['cpu', 'memory'])
          expect(get(c, 'resources', kind, r), `${role} ${kind}.${r}`).toBeDefined();
    }
  });

  it('when a role writes files (spool, snapshot, temp), then the path is on a mounted volume, not the read-only root', () => {
    for (const role of ROLES) {
      const dep = deploymentOf(role);
      const c = containerOf(dep);
      const volumes = new Set(list(get(podSpecOf(dep), 'volumes'), 'volumes').map((v) => get(v, 'name')));
      const mounts = list(c.volumeMounts, 'volumeMounts').map((m) => obj(m, 'mount'));
      for (const m of mounts) expect(volumes.has(m.name), `${role}: volume ${String(m.name)}`).toBe(true);
      const mounted = (file: string): boolean =>
        mounts.some((m) => file === m.mountPath || file.startsWith(`${String(m.mountPath)}/`));
      expect(mounted('/tmp/x'), `${role}: /tmp`).toBe(true);
      const config = manifestConfig(role);
      for (const file of [config.internal.spoolDir, config.internal.snapshotFile])
        if (file !== null) expect(mounted(file), `${role}: ${file}`).toBe(true);
    }
    expect(manifestConfig('relay').internal.spoolDir).not.toBeNull();
  });

  it('when the control plane is scaled, then it runs two replicas that resync from the database, kept one at a time by a PDB; accounting runs several (shared durable consumer)', () => {
    expect(get(deploymentOf('control-plane'), 'spec', 'replicas')).toBe(2);
    const env = manifestConfig('control-plane');
    expect(env.configResyncIntervalMs).toBeGreaterThan(0);
    const pdb = one('PodDisruptionBudget', 'switchyard-control-plane');
    expect(get(pdb, 'spec', 'maxUnavailable')).toBe(1);
    for (const role of ROLES)
      expect(selects(get(pdb, 'spec', 'selector'), podLabels(deploymentOf(role))), role).toBe(
        role === 'control-plane',
      );
    expect(get(deploymentOf('control-plane'), 'spec', 'strategy', 'rollingUpdate', 'maxUnavailable')).toBe(0);
    expect(Number(get(deploymentOf('accounting'), 'spec', 'replicas'))).toBeGreaterThanOrEqual(2);
  });
});

// ---- selectors and ports ------------------------------------------------------------------------

describe('the distributed base: Services, autoscaling, disruption budget, network policy, monitoring', () => {
  it("when traffic reaches a Service, then it selects exactly one role's pods and targets container ports that exist", () => {
    for (const svc of ofKind('Service')) {
      const selector = get(svc, 'spec', 'selector');
      const matched = ROLES.filter((r) => selectsMap(selector, podLabels(deploymentOf(r))));
      expect(matched, nameOf(svc)).toHaveLength(1);
      const dep = deploymentOf(matched[0]!);
      for (const raw of list(get(svc, 'spec', 'ports'), 'ports')) {
        const p = obj(raw, 'port');
        expect(typeof p.name, `${nameOf(svc)}: named port`).toBe('string');
        expect(containerPort(dep, p.targetPort), `${nameOf(svc)} → ${String(p.targetPort)}`).toBeDefined();
      }
    }
    for (const role of ROLES) {
      const dep = deploymentOf(role);
      expect(selects(get(dep, 'spec', 'selector'), podLabels(dep)), role).toBe(true);
    }
  });

  it('when the relays scale, then the HPA (autoscaling/v2, CPU) targets the relay Deployment, which sets no replicas of its own', () => {
    const hpa = one('HorizontalPodAutoscaler');
    const relay = deploymentOf('relay');
    expect(get(hpa, 'apiVersion')).toBe('autoscaling/v2');
    expect(get(hpa, 'spec', 'scaleTargetRef')).toEqual({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      name: nameOf(relay),
    });
    expect(get(relay, 'spec', 'replicas')).toBeUndefined();
    expect(Number(get(hpa, 'spec', 'minReplicas'))).toBeGreaterThanOrEqual(2);
    const metric = list(get(hpa, 'spec', 'metrics'), 'metrics').map((m) => obj(m, 'metric'));
    expect(metric.some((m) => m.type === 'Resource' && get(m, 'resource', 'name') === 'cpu')).toBe(true);
    // Utilization is relative to the request: without one the HPA cannot compute it.
    expect(get(containerOf(relay), 'resources', 'requests', 'cpu')).toBeDefined();
  });

  it('when nodes are drained, then the PDB (policy/v1) selects the relay pods and no other role', () => {
    const pdb = one('PodDisruptionBudget', 'switchyard-relay');
    expect(get(pdb, 'apiVersion')).toBe('policy/v1');
    for (const role of ROLES)
      expect(selects(get(pdb, 'spec', 'selector'), podLabels(deploymentOf(role))), role).toBe(
        role === 'relay',
      );
    const maxUnavailable = get(pdb, 'spec', 'maxUnavailable');
    const minAvailable = get(pdb, 'spec', 'minAvailable');
    expect(maxUnavailable !== undefined || minAvailable !== undefined).toBe(true);
    if (typeof minAvailable === 'number')
      expect(minAvailable).toBeLessThan(Number(get(one('HorizontalPodAutoscaler'), 'spec', 'minReplicas')));
  });

  it('when pods dial the control plane, then the NetworkPolicy lets only relay pods reach its gRPC port and anyone its HTTP port', () => {
    const np = one('NetworkPolicy');
    const cp = deploymentOf('control-plane');
    for (const role of ROLES)
      expect(selects(get(np, 'spec', 'podSelector'), podLabels(deploymentOf(role))), role).toBe(
        role === 'control-plane',
      );
    expect(get(np, 'spec', 'policyTypes')).toContain('Ingress');
    const grpcPort = manifestConfig('control-plane').internal.grpcPort;
    const httpPort = manifestConfig('control-plane').http.port;
    const rules = list(get(np, 'spec', 'ingress'), 'ingress').map((r) => obj(r, 'rule'));
    const opens = (rule: Doc, port: number): boolean =>
      list(rule.ports, 'ports').length === 0 ||
      list(rule.ports, 'ports').some((p) => containerPort(cp, get(p, 'port')) === port);
    const grpcRules = rules.filter((r) => opens(r, grpcPort));
    expect(grpcRules.length).toBeGreaterThan(0);
    for (const rule of grpcRules) {
      const peers = list(rule.from, 'from').map((f) => obj(f, 'peer'));
      expect(peers.length, 'a gRPC rule without `from` admits everyone').toBeGreaterThan(0);
      for (const peer of peers) {
        expect(Object.keys(peer), 'only a podSelector (same namespace)').toEqual(['podSelector']);
        for (const role of ROLES)
          expect(selects(peer.podSelector, podLabels(deploymentOf(role))), `gRPC from ${role}`).toBe(
            role === 'relay',
          );
      }
    }
    expect(rules.some((r) => opens(r, httpPort) && list(r.from, 'from').length === 0)).toBe(true);
  });

  it('when Prometheus scrapes, then the ServiceMonitor selects the Service of every role and names a port each of them has', () => {
    const sm = one('ServiceMonitor');
    const services = ofKind('Service').filter((s) =>
      selects(get(sm, 'spec', 'selector'), labelsOf(get(s, 'metadata', 'labels'), 'labels')),
    );
    const roles = services.map(
      (s) => labelsOf(get(s, 'metadata', 'labels'), 'labels')['app.kubernetes.io/component'],
    );
    expect(roles.sort()).toEqual([...ROLES].sort());
    const endpoints = list(get(sm, 'spec', 'endpoints'), 'endpoints').map((e) => obj(e, 'endpoint'));
    expect(endpoints.length).toBeGreaterThan(0);
    for (const e of endpoints) {
      expect(e.path).toBe('/metrics');
      for (const s of services)
        expect(
          list(get(s, 'spec', 'ports'), 'ports').some((p) => get(p, 'name') === e.port),
          `${nameOf(s)} has port ${String(e.port)}`,
        ).toBe(true);
    }
  });
});

// ---- the probes, against the running roles ------------------------------------------------------

describe('the distributed base: probes and metrics against the running roles', () => {
  const suite = distributedSuite('k8s', 'c');
  const running = new Map<DistributedRole, RoleHandle>();
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let scratch: string;

  /**
   * The role's environment from the manifests, with what only a cluster has replaced: the addresses
   * of MySQL, Redis, NATS and the control plane, port 0, a scratch directory, and no drain delay
   * (it would only slow the test's shutdown).
   */
  const envFor = (role: DistributedRole, extra: Record<string, string>): Record<string, string> => ({
    ...podEnv(deploymentOf(role), GENERATED),
    SWITCHYARD_HTTP_HOST: '127.0.0.1',
    SWITCHYARD_HTTP_PORT: '0',
    SWITCHYARD_DATABASE_URL: database.url,
    SWITCHYARD_REDIS_URL: REDIS_URL,
    SWITCHYARD_REDIS_PREFIX: suite.redisPrefix,
    SWITCHYARD_NATS_URL: NATS_URL,
    SWITCHYARD_NATS_STREAM: suite.stream,
    SWITCHYARD_SHUTDOWN_DRAIN_DELAY_MS: '0',
    ...extra,
  });

  beforeAll(async () => {
    database = await createTestDatabase();
    scratch = mkdtempSync(path.join(tmpdir(), 'switchyard-k8s-'));
    const cp = await startControlPlaneRole(
      loadConfig(envFor('control-plane', { SWITCHYARD_GRPC_PORT: '0' })),
      quietLogger,
    );
    running.set('control-plane', cp);
    running.set(
      'relay',
      await startRelayRole(
        loadConfig(
          envFor('relay', {
            SWITCHYARD_CONTROL_PLANE_URL: `127.0.0.1:${cp.grpcPort}`,
            SWITCHYARD_SPOOL_DIR: path.join(scratch, 'spool'),
            SWITCHYARD_SNAPSHOT_FILE: path.join(scratch, 'snapshot.bin'),
          }),
        ),
        quietLogger,
      ),
    );
    running.set('accounting', await startAccountingRole(loadConfig(envFor('accounting', {})), quietLogger));
  });

  afterAll(async () => {
    for (const role of ['relay', 'accounting', 'control-plane'] as const) await running.get(role)?.close();
    await suite.cleanup();
    await database?.drop();
    if (scratch !== undefined) rmSync(scratch, { recursive: true, force: true });
  });

  it.each(ROLES)(
    'when Kubernetes probes the %s pod, then every probe names its HTTP port and the running role answers its path with 200',
    async (role) => {
      const dep = deploymentOf(role);
      const c = containerOf(dep);
      const httpPort = manifestConfig(role).http.port;
      const probes = ['startupProbe', 'livenessProbe', 'readinessProbe'];
      for (const p of probes) expect(c[p], `${role}: ${p}`).toBeDefined();
      const handle = running.get(role)!;
      const paths = new Set<string>();
      for (const p of probes) {
        const httpGet = obj(get(c, p, 'httpGet'), `${role} ${p}.httpGet`);
        expect(containerPort(dep, httpGet.port), `${role} ${p} port`).toBe(httpPort);
        paths.add(text(httpGet.path, 'path'));
      }
      expect(paths).toContain('/readyz');
      for (const p of paths) expect((await fetch(`${handle.url}${p}`)).status, `${role} ${p}`).toBe(200);
    },
  );

  it('when Prometheus scrapes each role through the ServiceMonitor port, then /metrics answers 200 with metrics on that port', async () => {
    const sm = one('ServiceMonitor');
    for (const role of ROLES) {
      const svc = ofKind('Service').find((s) =>
        selectsMap(get(s, 'spec', 'selector'), podLabels(deploymentOf(role))),
      )!;
      for (const raw of list(get(sm, 'spec', 'endpoints'), 'endpoints')) {
        const e = obj(raw, 'endpoint');
        const svcPort = list(get(svc, 'spec', 'ports'), 'ports').find((p) => get(p, 'name') === e.port);
        expect(containerPort(deploymentOf(role), get(svcPort, 'targetPort')), role).toBe(
          manifestConfig(role).http.port,
        );
        const res = await fetch(`${running.get(role)!.url}${text(e.path, 'path')}`);
        expect(res.status, `${role} ${String(e.path)}`).toBe(200);
        expect(await res.text(), role).toContain('process_cpu_seconds_total');
      }
    }
  });
});

// ---- the component k8s/components/declarative ------------------------------------------------------

/**
 * Configuration as code on the distributed base: an overlay (made here, in a temporary directory, as a
 * user would) takes k8s/ as its resource and k8s/components/declarative as a component. The generated
 * ConfigMap must reach the control plane only, under its hashed name, and the file in it must be
 * accepted by a real control plane.
 */
describe('the component k8s/components/declarative in an overlay of the distributed base', () => {
  const COMPONENT = path.join(ROOT, 'k8s/components/declarative');
  let dir: string;

  /** An overlay in `dir`/`name` of k8s/ with the component at `component`, rendered. */
  function renderOverlay(name: string, component: string): Doc[] {
    const overlay = path.join(dir, name);
    mkdirSync(overlay);
    const rel = (to: string): string => path.relative(overlay, to).split(path.sep).join('/');
    writeFileSync(
      path.join(overlay, 'kustomization.yaml'),
      `apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ${rel(path.join(ROOT, 'k8s'))}\ncomponents:\n  - ${rel(component)}\n`,
    );
    return kustomize(overlay);
  }

  const inKind = (docs: Doc[], kind: string): Doc[] => docs.filter((d) => d.kind === kind);
  const controlPlaneOf = (docs: Doc[]): Doc => {
    const found = inKind(docs, 'Deployment').filter(
      (d) => podLabels(d)['app.kubernetes.io/component'] === 'control-plane',
    );
    expect(found).toHaveLength(1);
    return found[0]!;
  };
  const generatedConfigMap = (docs: Doc[]): Doc => {
    const found = inKind(docs, 'ConfigMap').filter((d) => nameOf(d).startsWith('switchyard-declarative'));
    expect(found).toHaveLength(1);
    return found[0]!;
  };
  const envEntries = (dep: Doc): Doc[] => list(containerOf(dep).env, 'env').map((e) => obj(e, 'env'));

  /** The file SWITCHYARD_CONFIG_FILE names, with the mount it lies in and that mount's volume. */
  function configFileSource(dep: Doc): { file: string; mount: Doc; volume: Doc } {
    const entry = envEntries(dep).find((e) => e.name === 'SWITCHYARD_CONFIG_FILE');
    const file = text(entry?.value, 'SWITCHYARD_CONFIG_FILE');
    const mount = list(containerOf(dep).volumeMounts, 'volumeMounts')
      .map((m) => obj(m, 'volumeMount'))
      .find(
        (m) =>
          m.subPath === undefined &&
          path.posix.join(text(m.mountPath, 'mountPath'), path.posix.basename(file)) === file,
      );
    expect(mount, `a volume mounted at ${path.posix.dirname(file)}`).toBeDefined();
    const volume = list(podSpecOf(dep).volumes, 'volumes')
      .map((v) => obj(v, 'volume'))
      .find((v) => v.name === mount!.name);
    expect(volume, `volume ${String(mount!.name)}`).toBeDefined();
    return { file, mount: mount!, volume: volume! };
  }

  let docs: Doc[];
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'k8s-declarative-'));
    docs = renderOverlay('overlay', COMPONENT);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('when the overlay is rendered, then every document passes the strict schema check and lands in namespace switchyard', () => {
    expect(validateManifests(docs)).toEqual([]);
    const namespaces = docs.filter((d) => d.kind !== 'Namespace').map((d) => get(d, 'metadata', 'namespace'));
    expect(new Set(namespaces)).toEqual(new Set(['switchyard']));
    const cm = generatedConfigMap(docs);
    expect(nameOf(cm)).toMatch(/^switchyard-declarative-[a-z0-9]{10}$/);
    expect(Object.keys(obj(cm.data, 'data'))).toEqual(['switchyard.yaml']);
    expect(labelsOf(get(cm, 'metadata', 'labels'), 'labels')).toMatchObject({
      'app.kubernetes.io/name': 'switchyard',
      'app.kubernetes.io/component': 'control-plane',
      'app.kubernetes.io/part-of': 'switchyard',
    });
  });

  it('when the control plane starts, then SWITCHYARD_CONFIG_FILE names the key switchyard.yaml of the generated ConfigMap (hashed name), mounted read-only', () => {
    const dep = controlPlaneOf(docs);
    const { file, mount, volume } = configFileSource(dep);
    expect(mount.readOnly).toBe(true);
    expect(get(volume, 'configMap', 'name')).toBe(nameOf(generatedConfigMap(docs)));
    const items = list(get(volume, 'configMap', 'items'), 'items').map((i) => obj(i, 'item'));
    expect(items).toEqual([{ key: 'switchyard.yaml', path: path.posix.basename(file) }]);
    // The base's own environment is kept, and the gateway accepts the result.
    const env: Record<string, string> = { ...labelsOf(one('ConfigMap', 'switchyard-config').data, 'data') };
    for (const e of envEntries(dep)) {
      const ref = get(e, 'valueFrom', 'secretKeyRef', 'key');
      env[text(e.name, 'name')] =
        typeof e.value === 'string' ? e.value : (GENERATED[String(ref)] ?? generatedSecret());
    }
    const config = loadConfig(env);
    expect(config.configFile).toBe(file);
    expect(() => requireForRole('control-plane', config)).not.toThrow();
  });

  it('when the component is added, then relays, accounting and every other object of the base are exactly as before', () => {
    const key = (d: Doc): string => `${String(d.kind)}/${nameOf(d)}`;
    const base = new Map(distributed.map((d) => [key(d), d]));
    const cp = nameOf(controlPlaneOf(docs));
    for (const d of docs) {
      if (key(d) === `Deployment/${cp}` || d === generatedConfigMap(docs)) continue;
      expect(d, key(d)).toEqual(base.get(key(d)));
    }
    expect(docs).toHaveLength(distributed.length + 1);
  });

  it('when switchyard.yaml is edited, then the ConfigMap name changes and the control plane points at the new one (a rollout, which re-applies)', () => {
    const copy = path.join(dir, 'edited-component');
    cpSync(COMPONENT, copy, { recursive: true });
    const file = path.join(copy, 'switchyard.yaml');
    writeFileSync(
      file,
      readFileSync(file, 'utf8').replace("input_per_million: '0.15'", "input_per_million: '0.2'"),
    );
    const edited = renderOverlay('edited-overlay', copy);
    expect(nameOf(generatedConfigMap(edited))).not.toBe(nameOf(generatedConfigMap(docs)));
    expect(get(configFileSource(controlPlaneOf(edited)).volume, 'configMap', 'name')).toBe(
      nameOf(generatedConfigMap(edited)),
    );
  });

  it('when the generated file is read in the pod layout and dry-run applied, then the control plane reports every entry and refuses nothing', async () => {
    const dep = controlPlaneOf(docs);
    const { file } = configFileSource(dep);
    const cmText = text(get(generatedConfigMap(docs), 'data', 'switchyard.yaml'), 'switchyard.yaml');
    const doc = parseDocument(cmText);
    // The Secret's keys, as the kubelet puts them into the control plane's environment.
    const env: Record<string, string> = {};
    for (const e of envEntries(dep))
      if (get(e, 'valueFrom', 'secretKeyRef') !== undefined) env[text(e.name, 'name')] = generatedSecret();
    const refs = secretRefs(doc, file);
    expect(refs).not.toEqual([]);
    for (const ref of refs) {
      expect(ref.file, `${ref.path}: the component mounts no secret files`).toBeUndefined();
      expect(Object.keys(env), ref.path).toContain(ref.env);
    }
    const outcome = await dryRunInPodLayout({ text: cmText, configFile: file, env, files: {} });
    expect(outcome.dryRun).toBe(true);
    const entry = (c: { kind: string; name: string }): string => `${c.kind} ${c.name}`;
    expect(outcome.changes.map(entry).sort()).toEqual(declaredEntries(doc).map(entry).sort());
    expect(outcome.changes.filter((c) => c.action === 'deleted' || c.action === 'disabled')).toEqual([]);
  }, 60_000);
});
