/**
 * Kubernetes manifest validation for the tests of k8s/ and the Helm chart: render with the real
 * `kubectl kustomize`, parse with `yaml`, and check every document against the real Kubernetes
 * OpenAPI schemas shipped by the `kubernetes-models` packages (core, apps, autoscaling, policy,
 * networking…) and `@kubernetes-models/prometheus-operator` (ServiceMonitor).
 *
 * Those schemas do not reject undeclared properties (the OpenAPI documents carry no
 * `additionalProperties: false`), yet a misspelt field such as `containerPorts` is silently dropped
 * by the API server and breaks a deployment. So, like `kubeconform --strict`, a strict pass rejects
 * every property the schema does not declare. It learns what the schema declares from the schema's
 * own compiled validator: the document is wrapped in proxies that record which properties the
 * validator looks up. A validator checks each property its schema declares (present or not), walks
 * every key of a map (`additionalProperties: <schema>`, e.g. labels), and looks at nothing inside a
 * free-form object (`x-kubernetes-preserve-unknown-fields`). A key of a schema-described object that
 * was never looked up is therefore not in the schema.
 */
import { execFileSync } from 'node:child_process';
import * as kubernetesModels from 'kubernetes-models';
import * as prometheusOperator from '@kubernetes-models/prometheus-operator';
import { parseAllDocuments } from 'yaml';

type Doc = Record<string, unknown>;

/** A model class of kubernetes-models: static apiVersion/kind, and a validate() that throws. */
interface ModelClass {
  readonly apiVersion: string;
  readonly kind: string;
  readonly prototype: { validate(): void };
}

/** One ajv error as the compiled validators report it (the message is filled in by kubernetes-models). */
interface SchemaError {
  instancePath: string;
  keyword: string;
  params: Record<string, unknown>;
  message?: string;
}

function isModelClass(value: unknown): value is ModelClass {
  if (typeof value !== 'function') return false;
  const { apiVersion, kind, prototype } = value as unknown as Partial<ModelClass>;
  return (
    typeof apiVersion === 'string' && typeof kind === 'string' && typeof prototype?.validate === 'function'
  );
}

/** Every model of both packages, keyed `<apiVersion>/<kind>` ("apps/v1/Deployment", "v1/Service"). */
const MODELS: ReadonlyMap<string, ModelClass> = (() => {
  const found = new Map<string, ModelClass>();
  // The packages nest namespaces as group → version → classes; three levels reach every class.
  const walk = (ns: object, depth: number): void => {
    for (const value of Object.values(ns)) {
      if (isModelClass(value)) found.set(`${value.apiVersion}/${value.kind}`, value);
      else if (value !== null && typeof value === 'object' && depth < 3) walk(value, depth + 1);
    }
  };
  walk(kubernetesModels, 0);
  walk(prometheusOperator, 0);
  return found;
})();

/** Parses multi-document YAML text into the documents (empty documents dropped). */
export function parseManifests(text: string): Array<Record<string, unknown>> {
  const docs: Doc[] = [];
  for (const [i, parsed] of parseAllDocuments(text).entries()) {
    if (parsed.errors.length > 0) throw new Error(`YAML document ${i + 1}: ${parsed.errors[0]!.message}`);
    const value: unknown = parsed.toJS();
    if (value === null || value === undefined) continue;
    if (typeof value !== 'object' || Array.isArray(value)) {
      throw new Error(`YAML document ${i + 1} is not a mapping`);
    }
    docs.push(value as Doc);
  }
  return docs;
}

const KUBECTL = 'kubectl';
const INSTALL_HINT = 'apt-get install -y kubectl';
let installTried = false;

function runKubectl(args: string[]): string {
  return execFileSync(KUBECTL, args, {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 16 << 20,
  });
}

function isMissingBinary(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | null)?.code === 'ENOENT';
}

/** kubectl is a Debian package here; install it once when we may (root), otherwise say how. */
function installKubectl(): void {
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (installTried || !isRoot) {
    throw new Error(
      `${KUBECTL} is not installed (needed to render kustomize bases); install it with: ${INSTALL_HINT}`,
    );
  }
  installTried = true;
  try {
    execFileSync('apt-get', ['install', '-y', 'kubectl'], { stdio: 'pipe' });
  } catch (err) {
    const stderr = (err as { stderr?: Buffer }).stderr?.toString() ?? String(err);
    throw new Error(`${KUBECTL} is not installed and \`${INSTALL_HINT}\` failed: ${stderr}`);
  }
}

/** Runs `kubectl kustomize <dir>` (real kubectl) and parses its output. Throws with kubectl's stderr on failure. */
export function kustomize(dir: string): Array<Record<string, unknown>> {
  let out: string;
  try {
    out = runKubectl(['kustomize', dir]);
  } catch (err) {
    if (!isMissingBinary(err)) throw kubectlFailure(dir, err);
    installKubectl();
    try {
      out = runKubectl(['kustomize', dir]);
    } catch (again) {
      throw isMissingBinary(again)
        ? new Error(`${KUBECTL} is still not on PATH after \`${INSTALL_HINT}\``)
        : kubectlFailure(dir, again);
    }
  }
  return parseManifests(out);
}

function kubectlFailure(dir: string, err: unknown): Error {
  const stderr = (err as { stderr?: string | Buffer }).stderr?.toString().trim();
  return new Error(`kubectl kustomize ${dir} failed: ${stderr || String(err)}`);
}

/** What the validator did with one object of the document. */
interface Visit {
  path: string;
  target: object;
  looked: Set<string>;
  enumerated: boolean;
}

/** Wraps value (deeply, lazily) so every property lookup of the validator is recorded in visits. */
function recording(value: unknown, path: string, visits: Visit[]): unknown {
  if (value === null || typeof value !== 'object') return value;
  const visit: Visit = { path, target: value, looked: new Set(), enumerated: false };
  visits.push(visit);
  const children = new Map<string, unknown>();
  return new Proxy(value, {
    get(target, key, receiver) {
      const child: unknown = Reflect.get(target, key, receiver);
      if (typeof key !== 'string') return child;
      visit.looked.add(key);
      if (child === null || typeof child !== 'object') return child;
      if (!children.has(key)) children.set(key, recording(child, childPath(path, target, key), visits));
      return children.get(key);
    },
    has(target, key) {
      if (typeof key === 'string') visit.looked.add(key);
      return Reflect.has(target, key);
    },
    getOwnPropertyDescriptor(target, key) {
      if (typeof key === 'string') visit.looked.add(key);
      return Reflect.getOwnPropertyDescriptor(target, key);
    },
    ownKeys(target) {
      visit.enumerated = true;
      return Reflect.ownKeys(target);
    },
  });
}

function childPath(path: string, parent: object, key: string): string {
  if (Array.isArray(parent)) return `${path}[${key}]`;
  return path === '' ? key : `${path}.${key}`;
}

/** "/spec/template/spec/containers/0" → "spec.template.spec.containers[0]". */
function pointerToPath(pointer: string): string {
  let path = '';
  for (const raw of pointer.split('/').slice(1)) {
    const part = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    path = /^\d+$/.test(part) ? `${path}[${part}]` : path === '' ? part : `${path}.${part}`;
  }
  return path;
}

function describe(error: SchemaError): string {
  return error.message ?? `${error.keyword} ${JSON.stringify(error.params)}`;
}

/** Properties present in objects the schema describes but does not declare. */
function undeclared(visits: Visit[]): string[] {
  const errors: string[] = [];
  for (const visit of visits) {
    // Arrays are positional; maps accept any key; an object the validator never looked into is free-form.
    if (Array.isArray(visit.target) || visit.enumerated || visit.looked.size === 0) continue;
    for (const key of Object.keys(visit.target)) {
      if (!visit.looked.has(key)) {
        errors.push(`${childPath(visit.path, visit.target, key) || key}: unknown field (not in the schema)`);
      }
    }
  }
  return errors;
}

/** Schema errors of one document, [] when valid: '<kind>/<name>: <path>: <message>'. Unknown apiVersion/kind is an error. */
export function validateManifest(doc: Record<string, unknown>): string[] {
  const kind = typeof doc.kind === 'string' ? doc.kind : '<no kind>';
  const metadata = doc.metadata as { name?: unknown } | undefined;
  const name = typeof metadata?.name === 'string' ? metadata.name : '<no name>';
  const where = `${kind}/${name}`;
  const apiVersion = typeof doc.apiVersion === 'string' ? doc.apiVersion : '<no apiVersion>';
  const model = MODELS.get(`${apiVersion}/${kind}`);
  if (!model) return [`${where}: (root): unknown apiVersion/kind ${apiVersion} ${kind}`];

  const visits: Visit[] = [];
  let schemaErrors: SchemaError[] = [];
  try {
    model.prototype.validate.call(recording(doc, '', visits));
  } catch (err) {
    const reported = (err as { errors?: unknown }).errors;
    if (!Array.isArray(reported)) throw err;
    schemaErrors = reported as SchemaError[];
  }
  return [
    ...schemaErrors.map((e) => `${where}: ${pointerToPath(e.instancePath) || '(root)'}: ${describe(e)}`),
    ...undeclared(visits).map((e) => `${where}: ${e}`),
  ];
}

/** validateManifest over every document, errors concatenated in document order. */
export function validateManifests(docs: Array<Record<string, unknown>>): string[] {
  return docs.flatMap((doc) => validateManifest(doc));
}
