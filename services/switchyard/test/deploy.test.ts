import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONFIG_SCHEMA, loadConfig } from '../src/config.js';
import { requireForRole, ROLES, type Role } from '../src/role-requirements.js';
import { startTestGateway, type TestGateway } from './harness.js';
import { gatewayRefuses } from './secret-refusal.js';
import { at, isMap, map, parseYaml, seq, str, type Yaml, type YamlMap } from './yaml-reader.js';

/**
 * The deployment files (deploy/Dockerfile, .dockerignore, docker-compose.yml, k8s/) checked against
 * the code they deploy. No Docker engine or cluster runs here, so each assertion is something that
 * would break a real deployment: a probe path the gateway does not serve, a port or variable name it
 * does not use, a file the image build cannot find, a command the CLI rejects.
 */

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BIN = path.join(ROOT, 'services/switchyard/bin/switchyard');
const DIST = path.join(ROOT, 'services/switchyard/dist/cli.js');
const read = (rel: string): string => readFileSync(path.join(ROOT, rel), 'utf8');

// ---- a reader for the YAML these files use --------------------------------------------------------
const strings = (v: Yaml): string[] => seq(v).map(str);

// ---- a reader for the Dockerfile ------------------------------------------------------------------

interface Instruction {
  op: string;
  args: string;
  stage: number;
}

function parseDockerfile(source: string): Instruction[] {
  const out: Instruction[] = [];
  let stage = -1;
  let pending = '';
  for (const raw of source.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('#') || (line === '' && pending === '')) continue;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    const full = `${pending}${line}`.trim();
    pending = '';
    const m = /^(\S+)\s+([\s\S]*)$/.exec(full);
    if (m === null) throw new Error(`Dockerfile: cannot read ${full}`);
    const op = (m[1] ?? '').toUpperCase();
    if (op === 'FROM') stage++;
    out.push({ op, args: (m[2] ?? '').trim(), stage });
  }
  return out;
}

/** Docker's .dockerignore matching: a pattern excludes a path or any of its parents; last match wins. */
function dockerignored(patterns: string[], rel: string): boolean {
  const toRegExp = (glob: string): RegExp => {
    let re = '';
    for (let i = 0; i < glob.length; i++) {
      const c = glob[i] ?? '';
      if (c === '*' && glob[i + 1] === '*') {
        i++;
        if (glob[i + 1] === '/') {
          i++;
          re += '(?:.*/)?';
        } else re += '.*';
      } else if (c === '*') re += '[^/]*';
      else if (c === '?') re += '[^/]';
      else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
    }
    return new RegExp(`^${re}$`);
  };
  const parts = rel.split('/');
  let ignored = false;
  for (const raw of patterns) {
    const negate = raw.startsWith('!');
    const re = toRegExp(path.posix.normalize(negate ? raw.slice(1) : raw).replace(/^\/+|\/+$/g, ''));
    for (let n = 1; n <= parts.length; n++) {
      if (re.test(parts.slice(0, n).join('/'))) {
        ignored = !negate;
        break;
      }
    }
  }
  return ignored;
}

// ---- the files under test -------------------------------------------------------------------------

const dockerfile = parseDockerfile(read('deploy/Dockerfile'));
const runtimeStage = Math.max(...dockerfile.map((i) => i.stage));
const runtime = (op: string): Instruction[] =>
  dockerfile.filter((i) => i.stage === runtimeStage && i.op === op);
const dockerignore = read('.dockerignore')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l !== '' && !l.startsWith('#'));
const compose = parseYaml(read('docker-compose.yml'), 'docker-compose.yml');
const kustomization = parseYaml(
  read('k8s/all-in-one/kustomization.yaml'),
  'k8s/all-in-one/kustomization.yaml',
);
const deployment = parseYaml(read('k8s/all-in-one/deployment.yaml'), 'k8s/all-in-one/deployment.yaml');
const service = parseYaml(read('k8s/all-in-one/service.yaml'), 'k8s/all-in-one/service.yaml');
const pvc = parseYaml(read('k8s/all-in-one/pvc.yaml'), 'k8s/all-in-one/pvc.yaml');
const secretExample = parseYaml(
  read('k8s/all-in-one/secret.example.yaml'),
  'k8s/all-in-one/secret.example.yaml',
);

const podSpec = map(at(deployment, 'spec', 'template', 'spec'));
const containers = seq(at(podSpec, 'containers')).map(map);
const container = containers[0]!;
const containerEnv = seq(at(container, 'env')).map(map);
const containerPorts = seq(at(container, 'ports')).map(map);

const DEFAULT_PORT = loadConfig({}).http.port;
const CONFIG_KEYS = new Set(Object.keys(CONFIG_SCHEMA.shape));

/** Dockerfile ENV pairs of the runtime stage (KEY=value forms only). */
function imageEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const i of runtime('ENV')) {
    for (const pair of i.args.split(/\s+/)) {
      const eq = pair.indexOf('=');
      if (eq <= 0) throw new Error(`Dockerfile: ENV ${i.args} is not in KEY=value form`);
      env[pair.slice(0, eq)] = pair.slice(eq + 1);
    }
  }
  return env;
}

/** The image's HEALTHCHECK exec-form command. */
function imageHealthcheck(): string[] {
  const [hc] = runtime('HEALTHCHECK');
  const json = /\bCMD\s+(\[[\s\S]*\])$/.exec(hc?.args ?? '')?.[1];
  if (json === undefined) throw new Error('Dockerfile: HEALTHCHECK must use the exec form CMD [...]');
  return JSON.parse(json) as string[];
}

const composeService = (name: string): YamlMap => map(at(compose, 'services', name));

/** A compose healthcheck's command without its CMD marker. */
function composeHealthcheck(name: string): string[] {
  const [kind, ...argv] = strings(at(composeService(name), 'healthcheck', 'test'));
  if (kind !== 'CMD') throw new Error(`${name}: healthcheck.test must start with CMD (exec form)`);
  return argv;
}

/** What a required variable (`${NAME:?message}`) stands for in these checks: valid as a token, key or password. */
const REQUIRED_SAMPLE = randomBytes(32).toString('hex');

/**
 * `docker compose` variable interpolation of one value: ${NAME:-default} yields the default when
 * unset; ${NAME:?message} (required: compose refuses to start without it) yields REQUIRED_SAMPLE.
 */
function interpolate(value: string): { names: string[]; required: string[]; value: string } {
  const names: string[] = [];
  const required: string[] = [];
  const out = value.replace(
    /\$\{(\w+)(?:(:?-)([^}]*)|(:?\?)[^}]*)?\}/g,
    (_m, name: string, _dash: string | undefined, def: string | undefined, question: string | undefined) => {
      names.push(name);
      if (question !== undefined) {
        required.push(name);
        return REQUIRED_SAMPLE;
      }
      return def ?? '';
    },
  );
  return { names, required, value: out };
}

/** Runs a healthcheck-style `node …` command with this process's Node; resolves with its exit code. */
function runNode(argv: string[], env: Record<string, string> = {}): Promise<number | null> {
  const [cmd, ...args] = argv;
  if (cmd !== 'node') throw new Error(`expected a node command, got ${argv.join(' ')}`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: 'ignore' });
    child.once('error', reject);
    child.once('exit', (code) => resolve(code));
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

let t: TestGateway;
beforeAll(async () => {
  t = await startTestGateway();
});
afterAll(async () => {
  await t?.stop();
});

describe('the Docker image (deploy/Dockerfile, .dockerignore)', () => {
  it('when the container starts, then its ENTRYPOINT is the repository executable, present and executable, running serve', () => {
    const [entry] = runtime('ENTRYPOINT');
    const argv = JSON.parse(entry?.args ?? 'null') as string[];
    expect(argv).toHaveLength(1);
    const [workdir] = runtime('WORKDIR');
    const inImage = argv[0]!;
    expect(inImage.startsWith(`${workdir?.args}/`)).toBe(true);
    const inRepo = path.join(ROOT, path.relative(workdir!.args, inImage));
    expect(inRepo).toBe(BIN);
    expect(statSync(inRepo).isFile()).toBe(true);
    expect(statSync(inRepo).mode & 0o111).toBe(0o111);
    expect(JSON.parse(runtime('CMD')[0]?.args ?? 'null')).toEqual(['serve']);
  });

  it('when npm ci runs in the build stage, then the package.json of every workspace is already copied in', () => {
    const workspaces = (JSON.parse(read('package.json')) as { workspaces: string[] }).workspaces;
    const npmCi = dockerfile.findIndex((i) => i.op === 'RUN' && /\bnpm ci\b/.test(i.args));
    expect(npmCi).toBeGreaterThan(0);
    const copiedBefore = dockerfile
      .slice(0, npmCi)
      .filter((i) => i.op === 'COPY')
      .flatMap((i) => i.args.split(/\s+/).slice(0, -1));
    for (const ws of workspaces) expect(copiedBefore).toContain(`${ws}/package.json`);
    expect(copiedBefore).toContain('package-lock.json');
  });

  it('when the build context is sent, then everything the Dockerfile copies exists and is not dockerignored', () => {
    const sources = dockerfile
      .filter((i) => i.op === 'COPY' && !i.args.startsWith('--from'))
      .flatMap((i) =>
        i.args
          .split(/\s+/)
          .filter((a) => !a.startsWith('--'))
          .slice(0, -1),
      );
    expect(sources.length).toBeGreaterThan(5);
    for (const src of sources) {
      const rel = src.replace(/\/+$/, '');
      expect(existsSync(path.join(ROOT, rel)), `${rel} exists`).toBe(true);
      expect(dockerignored(dockerignore, rel), `${rel} is not dockerignored`).toBe(false);
    }
  });

  it('when the host has installed or built, then node_modules, dist, build info and local state stay out of the context', () => {
    for (const rel of [
      'node_modules/kysely/package.json',
      'services/core/node_modules/x',
      'services/core/dist/index.js',
      'services/switchyard/dist/.tsbuildinfo',
      '.tools/node',
      'data/switchyard.db',
      '.git/HEAD',
      '.bench/result.json',
    ])
      expect(dockerignored(dockerignore, rel), `${rel} is dockerignored`).toBe(true);
    // The matcher itself must not ignore everything.
    expect(dockerignored(dockerignore, 'services/core/src/index.ts')).toBe(false);
  });

  it('when the image runs, then it runs as the non-root uid that owns /data and the data dir is the declared volume', () => {
    const [user] = runtime('USER');
    const [uid, gid] = (user?.args ?? '').split(':');
    expect(Number(uid)).toBeGreaterThan(0);
    const dataDir = imageEnv().SWITCHYARD_DATA_DIR;
    expect(dataDir).toBeDefined();
    expect(runtime('VOLUME').map((i) => i.args)).toEqual([dataDir]);
    // A named volume starts as a copy of the image's directory, ownership included.
    expect(runtime('RUN').some((i) => i.args.includes(`chown ${uid}:${gid} ${dataDir}`))).toBe(true);
  });
});

describe('docker-compose.yml', () => {
  it('when compose publishes the gateway, then the container side is the gateway default port', () => {
    const ports = strings(at(composeService('switchyard'), 'ports'));
    expect(ports.length).toBeGreaterThan(0);
    for (const p of ports) expect(Number(p.split(':').at(-1))).toBe(DEFAULT_PORT);
  });

  it('when compose mounts the data volume, then it is a declared named volume at the image data dir', () => {
    const dataDir = imageEnv().SWITCHYARD_DATA_DIR;
    const mounts = strings(at(composeService('switchyard'), 'volumes')).map((v) => v.split(':'));
    const data = mounts.find(([, target]) => target === dataDir);
    expect(data).toBeDefined();
    expect(Object.keys(map(at(compose, 'volumes')))).toContain(data![0]);
  });

  it('when the gateway is stopped, then compose gives it longer than its 30 s drain', () => {
    const grace = str(at(composeService('switchyard'), 'stop_grace_period'));
    expect(Number(/^(\d+)s$/.exec(grace)?.[1])).toBeGreaterThan(30);
  });

  it('when compose starts mock-upstream with its command, then the real CLI accepts it, listens, passes its healthcheck and stops on SIGTERM', async () => {
    expect(existsSync(DIST), 'services/switchyard/dist is missing: build first (npm test does)').toBe(true);
    const command = strings(at(composeService('mock-upstream'), 'command'));
    expect(command[0]).toBe('mock-upstream');
    // The CLI's default host is 127.0.0.1, which the gateway's container could not reach.
    expect(command[command.indexOf('--host') + 1]).toBe('0.0.0.0');
    const composePort = command[command.indexOf('--port') + 1];
    const local = command.map((a, i) =>
      command[i - 1] === '--port' ? '0' : command[i - 1] === '--host' ? '127.0.0.1' : a,
    );
    const child = spawn(BIN, local, { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const port = await new Promise<number>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          const m = /mock-upstream listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(out);
          if (m) resolve(Number(m[1]));
        });
        child.stderr.on('data', (d: Buffer) => (out += d.toString()));
        child.once('exit', (code) => reject(new Error(`mock-upstream exited with ${code}: ${out}`)));
      });
      const check = composeHealthcheck('mock-upstream');
      const script = check.join(' ');
      expect(script).toContain(`:${composePort}/`);
      expect(await runNode(check.map((a) => a.replace(`:${composePort}/`, `:${port}/`)))).toBe(0);
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });

  it('when a user adds a channel for the compose mock (http://mock-upstream:<port>/v1), then the admin API accepts that base_url', async () => {
    const command = strings(at(composeService('mock-upstream'), 'command'));
    const baseUrl = `http://mock-upstream:${command[command.indexOf('--port') + 1]}/v1`;
    expect(baseUrl).toBe('http://mock-upstream:9090/v1');
    const res = await t.admin('POST', '/channels', {
      name: 'compose-mock',
      provider: 'openai',
      base_url: baseUrl,
      models: ['gpt-4o'],
      accounts: [{ api_key: 'sk-anything' }],
    });
    expect(res.status).toBe(201);
  });
});

describe('healthchecks (image and compose)', () => {
  it('when the gateway is up, then the image and compose healthchecks pass, and when nothing listens they fail', async () => {
    const checks = [imageHealthcheck(), composeHealthcheck('switchyard')];
    for (const check of checks) {
      expect(await runNode(check, { SWITCHYARD_HTTP_PORT: String(t.gw.port) })).toBe(0);
      expect(await runNode(check, { SWITCHYARD_HTTP_PORT: String(await freePort()) })).not.toBe(0);
    }
  });
});

describe('the Kubernetes all-in-one base (k8s/all-in-one/)', () => {
  it('when kustomize builds k8s/all-in-one/, then every listed resource exists and the example Secret is not among them', () => {
    const resources = strings(at(kustomization, 'resources'));
    expect(resources.length).toBeGreaterThanOrEqual(4);
    for (const r of resources)
      expect(existsSync(path.join(ROOT, 'k8s/all-in-one', r)), `k8s/all-in-one/${r}`).toBe(true);
    expect(resources).not.toContain('secret.example.yaml');
    for (const f of ['namespace.yaml', 'deployment.yaml', 'service.yaml', 'pvc.yaml'])
      expect(resources).toContain(f);
  });

  it('when Kubernetes probes the pod, then every probe path (and the metrics path) is a route the gateway answers with 200', async () => {
    const portNames = new Set(containerPorts.map((p) => p.name));
    const probes = ['startupProbe', 'livenessProbe', 'readinessProbe'].filter((p) => p in container);
    expect(probes).toEqual(expect.arrayContaining(['livenessProbe', 'readinessProbe']));
    const paths = probes.map((p) => {
      const get = map(at(container, p, 'httpGet'));
      const port = at(get, 'port');
      expect(typeof port === 'number' ? port === DEFAULT_PORT : portNames.has(port)).toBe(true);
      return str(at(get, 'path'));
    });
    expect(paths).toContain('/readyz');
    const annotations = map(at(deployment, 'spec', 'template', 'metadata', 'annotations'));
    paths.push(str(at(annotations, 'prometheus.io/path')));
    expect(Number(at(annotations, 'prometheus.io/port'))).toBe(DEFAULT_PORT);
    for (const p of paths) expect((await fetch(`${t.gw.url}${p}`)).status, p).toBe(200);
  });

  it('when traffic reaches the pod, then the container port is the gateway default and the Service targets it and selects the pod', () => {
    expect(containerPorts.map((p) => p.containerPort)).toEqual([DEFAULT_PORT]);
    const podLabels = map(at(deployment, 'spec', 'template', 'metadata', 'labels'));
    for (const sel of [
      map(at(service, 'spec', 'selector')),
      map(at(deployment, 'spec', 'selector', 'matchLabels')),
    ])
      for (const [k, v] of Object.entries(sel)) expect(podLabels[k], k).toBe(v);
    for (const p of seq(at(service, 'spec', 'ports')).map(map)) {
      const target = at(p, 'targetPort');
      expect(
        typeof target === 'number' ? target : containerPorts.find((c) => c.name === target)?.containerPort,
      ).toBe(DEFAULT_PORT);
    }
    expect(at(service, 'spec', 'type')).toBe('ClusterIP');
  });

  it('when the pod mounts its data, then the PVC in the base is mounted at SWITCHYARD_DATA_DIR, which is the image data dir', () => {
    const volumes = seq(at(podSpec, 'volumes')).map(map);
    const claim = volumes.find((v) => isMap(v.persistentVolumeClaim));
    expect(at(claim!, 'persistentVolumeClaim', 'claimName')).toBe(at(pvc, 'metadata', 'name'));
    const mount = seq(at(container, 'volumeMounts'))
      .map(map)
      .find((m) => m.name === claim!.name);
    const dataDir =
      containerEnv.find((e) => e.name === 'SWITCHYARD_DATA_DIR')?.value ?? imageEnv().SWITCHYARD_DATA_DIR;
    expect(at(mount!, 'mountPath')).toBe(dataDir);
    expect(dataDir).toBe(imageEnv().SWITCHYARD_DATA_DIR);
  });

  it('when the pod runs, then it is a single Recreate replica, non-root as the image uid, with a read-only root and no privileges', () => {
    expect(at(deployment, 'spec', 'replicas')).toBe(1);
    expect(at(deployment, 'spec', 'strategy', 'type')).toBe('Recreate');
    expect(containers).toHaveLength(1);
    const uid = Number((runtime('USER')[0]?.args ?? '').split(':')[0]);
    const sc = map(at(container, 'securityContext'));
    expect(at(podSpec, 'securityContext', 'runAsNonRoot')).toBe(true);
    expect(at(podSpec, 'securityContext', 'runAsUser')).toBe(uid);
    expect(at(podSpec, 'securityContext', 'fsGroup')).toBe(uid);
    expect(sc.runAsUser).toBe(uid);
    expect(sc.readOnlyRootFilesystem).toBe(true);
    expect(sc.allowPrivilegeEscalation).toBe(false);
    expect(strings(at(sc, 'capabilities', 'drop'))).toContain('ALL');
    // The gateway drains for up to 30 s after SIGTERM; Kubernetes must not kill it sooner.
    expect(Number(at(podSpec, 'terminationGracePeriodSeconds'))).toBeGreaterThan(30);
    expect(strings(at(container, 'args'))).toEqual(JSON.parse(runtime('CMD')[0]?.args ?? 'null'));
  });

  it('when the pod reads its secrets, then they come from the example Secret name and keys, in the base namespace', () => {
    const refs = containerEnv
      .filter((e) => isMap(e.valueFrom))
      .map((e) => map(at(e, 'valueFrom', 'secretKeyRef')));
    expect(refs.length).toBe(2);
    const data = map(at(secretExample, 'stringData'));
    for (const ref of refs) {
      expect(ref.name).toBe(at(secretExample, 'metadata', 'name'));
      expect(Object.keys(data)).toContain(ref.key);
    }
    // Applied on its own (kubectl apply -f), so it must name the namespace the base deploys into.
    expect(at(secretExample, 'metadata', 'namespace')).toBe(at(kustomization, 'namespace'));
  });

  it('when the example Secret is applied unedited, then the gateway refuses its values, and accepts `openssl rand -hex 32` ones', async () => {
    const data = map(at(secretExample, 'stringData'));
    expect(Object.keys(data).sort()).toEqual(['SWITCHYARD_ADMIN_TOKEN', 'SWITCHYARD_SECRET_KEY']);
    const generated = randomBytes(32).toString('hex');
    for (const [name, value] of Object.entries(data)) {
      expect(await gatewayRefuses(name, str(value)), `${name}=${String(value)}`).toBe(true);
      expect(await gatewayRefuses(name, generated), `${name}=<openssl rand -hex 32>`).toBe(false);
    }
  });
});

describe('configuration across the deployment files', () => {
  it('when a SWITCHYARD_* variable is set or read anywhere, then it is a configuration key with a value the gateway accepts', () => {
    const named: Array<{ where: string; name: string; value?: string }> = [];
    for (const e of containerEnv) {
      const value = typeof e.value === 'string' ? e.value : undefined;
      named.push({ where: 'k8s/all-in-one/deployment.yaml', name: str(at(e, 'name')), value });
    }
    for (const [svc, def] of Object.entries(map(at(compose, 'services')))) {
      const env = isMap(map(def).environment) ? map(at(def, 'environment')) : {};
      for (const [name, raw] of Object.entries(env)) {
        const { names, value } = interpolate(String(raw));
        named.push({ where: `docker-compose.yml ${svc}`, name, value });
        for (const n of names) named.push({ where: `docker-compose.yml ${svc} (interpolated)`, name: n });
      }
      if (isMap(map(def).healthcheck))
        for (const n of composeHealthcheck(svc)
          .join(' ')
          .match(/process\.env\.(\w+)/g) ?? [])
          named.push({
            where: `docker-compose.yml ${svc} healthcheck`,
            name: n.slice('process.env.'.length),
          });
    }
    for (const [name, value] of Object.entries(imageEnv()))
      named.push({ where: 'Dockerfile ENV', name, value });
    for (const n of imageHealthcheck()
      .join(' ')
      .match(/process\.env\.(\w+)/g) ?? [])
      named.push({ where: 'Dockerfile HEALTHCHECK', name: n.slice('process.env.'.length) });

    const ours = named.filter((n) => n.name.startsWith('SWITCHYARD_'));
    expect(ours.length).toBeGreaterThanOrEqual(8);
    for (const { where, name, value } of ours) {
      expect(CONFIG_KEYS.has(name), `${where}: ${name} is not a configuration key`).toBe(true);
      if (value !== undefined)
        expect(() => loadConfig({ [name]: value }), `${where}: ${name}=${value}`).not.toThrow();
    }
  });

  it('when the gateway listens on its default port, then the image EXPOSE, the container port and compose agree with it', () => {
    expect(DEFAULT_PORT).toBe(8080);
    expect(runtime('EXPOSE').map((i) => Number.parseInt(i.args, 10))).toEqual([DEFAULT_PORT]);
    expect(containerPorts.map((p) => p.containerPort)).toEqual([DEFAULT_PORT]);
    expect(containerEnv.some((e) => e.name === 'SWITCHYARD_HTTP_PORT')).toBe(false);
  });
});

describe('docker-compose.yml, profile distributed', () => {
  const services = map(at(compose, 'services'));
  const profiles = (name: string): string[] =>
    'profiles' in composeService(name) ? strings(at(composeService(name), 'profiles')) : [];
  const distributed = Object.keys(services).filter((n) => profiles(n).includes('distributed'));
  /** The Switchyard role a service runs (`serve --role …`), or null for a service that is not one. */
  const roleOf = (name: string): Role | null => {
    const def = composeService(name);
    if (!Array.isArray(def.command)) return null;
    const command = strings(def.command);
    if (command[0] !== 'serve') return null;
    const i = command.indexOf('--role');
    return (i < 0 ? 'all' : command[i + 1]) as Role;
  };
  const roleServices = distributed.filter((n) => roleOf(n) !== null);
  const withRole = (role: Role): string[] => roleServices.filter((n) => roleOf(n) === role);
  const rawEnv = (name: string): Record<string, string> =>
    Object.fromEntries(
      Object.entries(
        isMap(composeService(name).environment) ? map(at(composeService(name), 'environment')) : {},
      ).map(([k, v]) => [k, String(v)]),
    );
  const env = (name: string): Record<string, string> =>
    Object.fromEntries(Object.entries(rawEnv(name)).map(([k, v]) => [k, interpolate(v).value]));
  /** The port a role's HTTP server listens on inside its container. */
  const httpPort = (name: string): number => loadConfig(env(name)).http.port;
  const hostPort = (url: string): { host: string; port: number } => {
    const m = /^(?:\w+:\/\/)?(?:[^@/]*@)?([^:/]+):(\d+)/.exec(url);
    if (m === null) throw new Error(`no host:port in ${url}`);
    return { host: m[1]!, port: Number(m[2]) };
  };
  /** Container-side ports a service listens on, as compose declares them (published or exposed). */
  const containerPortsOf = (name: string): number[] => {
    const def = composeService(name);
    const published = 'ports' in def ? strings(at(def, 'ports')).map((p) => Number(p.split(':').at(-1))) : [];
    const exposed = 'expose' in def ? strings(at(def, 'expose')).map(Number) : [];
    return [...published, ...exposed];
  };
  const bindMounts = (name: string): Array<{ source: string; target: string }> => {
    const def = composeService(name);
    return ('volumes' in def ? strings(at(def, 'volumes')) : [])
      .map((v) => v.split(':'))
      .filter(([source]) => source!.startsWith('./'))
      .map(([source, target]) => ({ source: source!, target: target! }));
  };
  const imageOf = (name: string): string => str(at(composeService(name), 'image'));

  it('when compose runs without a profile, then only the all-in-one gateway and the mock start, and the whole distributed stack is in the profile', () => {
    expect(Object.keys(services).filter((n) => profiles(n).length === 0)).toEqual([
      'switchyard',
      'mock-upstream',
    ]);
    for (const n of ['mysql', 'redis', 'nats', 'lb', 'prometheus', 'grafana'])
      expect(distributed).toContain(n);
    expect(imageOf('mysql')).toBe('mysql:8.4');
    expect(imageOf('redis')).toMatch(/^redis:7\b/);
    expect(imageOf('nats')).toMatch(/^nats:2\b/);
    expect(strings(at(composeService('nats'), 'command'))).toContain('-js');
    expect(imageOf('lb')).toMatch(/^nginx:/);
    expect(imageOf('prometheus')).toMatch(/^prom\/prometheus:/);
    expect(imageOf('grafana')).toMatch(/^grafana\/grafana:/);
    expect(withRole('control-plane')).toHaveLength(1);
    expect(withRole('accounting')).toHaveLength(1);
    expect(withRole('relay')).toHaveLength(2);
    expect(withRole('all')).toHaveLength(0);
  });

  it('when each role starts, then it runs the one image built from deploy/Dockerfile and its environment has everything the role needs', () => {
    expect(roleServices.length).toBe(4);
    for (const n of roleServices) {
      expect(ROLES).toContain(roleOf(n));
      expect(imageOf(n), n).toBe(imageOf('switchyard'));
      expect(at(composeService(n), 'build', 'dockerfile'), n).toBe('deploy/Dockerfile');
      expect(() => requireForRole(roleOf(n)!, loadConfig(env(n))), n).not.toThrow();
    }
  });

  it('when a required secret is not exported, then compose refuses to start (${VAR:?message}), and every role shares the one internal token', () => {
    const secrets = ['SWITCHYARD_INTERNAL_TOKEN', 'SWITCHYARD_ADMIN_TOKEN', 'SWITCHYARD_SECRET_KEY'];
    let checked = 0;
    for (const n of roleServices) {
      const raw = rawEnv(n);
      for (const name of secrets.filter((s) => s in raw)) {
        expect(raw[name], `${n} ${name}`).toMatch(new RegExp(`^\\$\\{${name}:\\?[^}]+\\}$`));
        checked++;
      }
      if ('SWITCHYARD_DATABASE_URL' in raw)
        expect(interpolate(raw.SWITCHYARD_DATABASE_URL!).required, `${n} database password`).toHaveLength(1);
      expect(raw.SWITCHYARD_INTERNAL_TOKEN, n).toBe(
        rawEnv(withRole('control-plane')[0]!).SWITCHYARD_INTERNAL_TOKEN,
      );
    }
    expect(checked).toBe(roleServices.length + 2);
    expect(interpolate(rawEnv('mysql').MYSQL_PASSWORD!).required).toEqual(['MYSQL_PASSWORD']);
    expect(interpolate(rawEnv('grafana').GF_SECURITY_ADMIN_PASSWORD!).required).toHaveLength(1);
  });

  it("when a relay connects, then SWITCHYARD_CONTROL_PLANE_URL is the control-plane service's gRPC port, and Redis, NATS and MySQL URLs name their services", () => {
    const [cp] = withRole('control-plane');
    const grpcPort = loadConfig(env(cp!)).internal.grpcPort;
    expect(containerPortsOf(cp!)).toContain(grpcPort);
    for (const relay of withRole('relay')) {
      expect(hostPort(env(relay).SWITCHYARD_CONTROL_PLANE_URL!)).toEqual({ host: cp, port: grpcPort });
      expect(hostPort(env(relay).SWITCHYARD_REDIS_URL!)).toEqual({ host: 'redis', port: 6379 });
    }
    for (const n of [...withRole('relay'), ...withRole('accounting')])
      expect(hostPort(env(n).SWITCHYARD_NATS_URL!)).toEqual({ host: 'nats', port: 4222 });
    for (const n of [cp!, ...withRole('accounting')]) {
      const url = new URL(env(n).SWITCHYARD_DATABASE_URL!);
      expect(hostPort(url.toString())).toEqual({ host: 'mysql', port: 3306 });
      expect(url.username).toBe(rawEnv('mysql').MYSQL_USER);
      expect(url.pathname).toBe(`/${rawEnv('mysql').MYSQL_DATABASE}`);
      expect(decodeURIComponent(url.password)).toBe(interpolate(rawEnv('mysql').MYSQL_PASSWORD!).value);
    }
  });

  it('when the stack starts, then every dependency waits for service_healthy of a service that has a healthcheck, in the order the roles need', () => {
    const deps = (n: string): string[] =>
      'depends_on' in composeService(n) ? Object.keys(map(at(composeService(n), 'depends_on'))) : [];
    for (const n of distributed) {
      expect(isMap(composeService(n).healthcheck), `${n} has a healthcheck`).toBe(true);
      for (const d of deps(n)) {
        expect(distributed, `${n} depends on ${d}`).toContain(d);
        expect(at(composeService(n), 'depends_on', d, 'condition'), `${n} -> ${d}`).toBe('service_healthy');
      }
    }
    const [cp] = withRole('control-plane');
    expect(deps(cp!)).toContain('mysql');
    // The control plane migrates the database; accounting starts after it.
    expect(deps(withRole('accounting')[0]!)).toEqual(expect.arrayContaining([cp, 'mysql', 'nats']));
    for (const r of withRole('relay')) expect(deps(r)).toEqual(expect.arrayContaining([cp, 'redis', 'nats']));
    expect(deps('lb')).toEqual(expect.arrayContaining(withRole('relay')));
    expect(deps('grafana')).toContain('prometheus');
  });

  it("when compose probes a role, then its healthcheck asks /readyz on the role's HTTP port and passes only while something serves it", async () => {
    for (const n of roleServices) {
      const check = composeHealthcheck(n);
      expect(check.join(' '), n).toContain('/readyz');
      // In the container SWITCHYARD_HTTP_PORT is what compose sets (or unset: the default).
      expect(httpPort(n)).toBe(Number(env(n).SWITCHYARD_HTTP_PORT ?? DEFAULT_PORT));
      expect(containerPortsOf(n), n).toContain(httpPort(n));
      expect(await runNode(check, { SWITCHYARD_HTTP_PORT: String(t.gw.port) }), n).toBe(0);
      expect(await runNode(check, { SWITCHYARD_HTTP_PORT: String(await freePort()) }), n).not.toBe(0);
    }
  });

  it('when nginx balances, then its upstream names every relay service on its HTTP port and streams responses unbuffered', () => {
    const mount = bindMounts('lb').find((m) => m.target === '/etc/nginx/conf.d/default.conf');
    expect(mount).toBeDefined();
    const conf = read(mount!.source).replace(/#.*$/gm, '');
    const upstreams = [...conf.matchAll(/upstream\s+(\S+)\s*\{([^}]*)\}/g)];
    expect(upstreams).toHaveLength(1);
    const [, name, body] = upstreams[0]!;
    const servers = [...body!.matchAll(/^\s*server\s+([^\s;]+)/gm)].map((m) => m[1]);
    expect(servers.sort()).toEqual(
      withRole('relay')
        .map((r) => `${r}:${httpPort(r)}`)
        .sort(),
    );
    expect(conf).toMatch(new RegExp(`proxy_pass\\s+http://${name};`));
    expect(conf).toMatch(/proxy_buffering\s+off;/);
    const listen = Number(/^\s*listen\s+(\d+);/m.exec(conf)?.[1]);
    expect(containerPortsOf('lb')).toEqual([listen]);
    const health = /wget.*http:\/\/127\.0\.0\.1:(\d+)(\/\S*)/.exec(composeHealthcheck('lb').join(' '));
    expect(Number(health?.[1])).toBe(listen);
    expect(conf).toContain(`location = ${health?.[2]} {`);
  });

  it('when Prometheus scrapes, then each role service is a target on its HTTP port at a path the gateway serves', async () => {
    const mount = bindMounts('prometheus').find((m) => m.target === '/etc/prometheus/prometheus.yml');
    expect(mount).toBeDefined();
    const prom = parseYaml(read(mount!.source), mount!.source);
    const jobs = seq(at(prom, 'scrape_configs')).map(map);
    const targets: string[] = [];
    for (const job of jobs) {
      const metricsPath = 'metrics_path' in job ? str(at(job, 'metrics_path')) : '/metrics';
      expect((await fetch(`${t.gw.url}${metricsPath}`)).status, metricsPath).toBe(200);
      for (const sc of seq(at(job, 'static_configs')).map(map)) targets.push(...strings(at(sc, 'targets')));
    }
    expect(targets.sort()).toEqual(roleServices.map((n) => `${n}:${httpPort(n)}`).sort());
  });

  it('when Grafana starts, then its provisioned datasource is the Prometheus service on its port', () => {
    const mount = bindMounts('grafana').find((m) => m.target === '/etc/grafana/provisioning');
    expect(mount).toBeDefined();
    const dir = path.join(mount!.source, 'datasources');
    const files = readdirSync(path.join(ROOT, dir)).filter((f) => /\.ya?ml$/.test(f));
    const sources = files.flatMap((f) =>
      seq(at(parseYaml(read(path.join(dir, f)), f), 'datasources')).map(map),
    );
    const prom = sources.filter((d) => d.type === 'prometheus');
    expect(prom).toHaveLength(1);
    const promPort = containerPortsOf('prometheus')[0];
    expect(hostPort(str(at(prom[0]!, 'url')))).toEqual({ host: 'prometheus', port: promPort });
    expect(str(at(composeService('prometheus'), 'healthcheck', 'test', 5))).toContain(`:${promPort}/`);
  });

  it('when compose bind-mounts a file from the repository, then it exists and is mounted read-only', () => {
    const mounts = Object.keys(services).flatMap((n) =>
      ('volumes' in composeService(n) ? strings(at(composeService(n), 'volumes')) : [])
        .filter((v) => v.startsWith('./'))
        .map((v) => ({ n, parts: v.split(':') })),
    );
    expect(mounts.length).toBeGreaterThanOrEqual(3);
    for (const { n, parts } of mounts) {
      expect(existsSync(path.join(ROOT, parts[0]!)), `${n}: ${parts[0]}`).toBe(true);
      expect(parts[2], `${n}: ${parts.join(':')}`).toBe('ro');
    }
  });
});
