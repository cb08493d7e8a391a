/**
 * `helm template` for the chart's tests, without Helm: Helm is not packaged by Debian and its npm
 * wrappers download the binary at install time, which this project's machines cannot do. So the
 * renderer in scripts/helm-template (Helm's engine semantics on sprig, sigs.k8s.io/yaml and
 * gojsonschema, all Debian packages) is compiled once with Debian's Go into
 * node_modules/.cache/helm-template/<hash of main.go>/ and run per render.
 */
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const SOURCE_DIR = path.join(ROOT, 'scripts/helm-template');
const CACHE_DIR = path.join(ROOT, 'node_modules/.cache/helm-template');
/** Debian's Go 1.19 and the libraries main.go imports, compiled in GOPATH mode from /usr/share/gocode. */
export const HELM_TEMPLATE_PACKAGES = [
  'golang-go',
  'golang-github-masterminds-sprig-dev',
  'golang-k8s-sigs-yaml-dev',
  'golang-github-xeipuuv-gojsonschema-dev',
] as const;
const INSTALL_COMMAND = `apt-get install -y ${HELM_TEMPLATE_PACKAGES.join(' ')}`;

export interface HelmTemplateOptions {
  /** Release name (default "release-name", as helm's). */
  release?: string;
  /** Release namespace (default "default"). */
  namespace?: string;
  /** Values files, merged in order over the chart's values.yaml (`-f`). */
  values?: string[];
  /** `--set key=value` entries, typed like helm's (integers, booleans, null). */
  set?: Record<string, string>;
}

let binary: string | null = null;
let installTried = false;

function errorText(err: unknown): string {
  const e = err as { stderr?: string | Buffer; message?: string };
  return e.stderr?.toString().trim() || e.message || String(err);
}

function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/** Installs the Debian packages once when running as root; otherwise says what to install. */
function installPackages(reason: string): void {
  if (installTried || !isRoot()) {
    throw new Error(`${reason}; the Helm chart tests need Debian's Go and libraries: ${INSTALL_COMMAND}`);
  }
  installTried = true;
  const apt = (args: string[]): void => {
    execFileSync('apt-get', args, {
      stdio: 'pipe',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  };
  const install = ['install', '-y', '--no-install-recommends', ...HELM_TEMPLATE_PACKAGES];
  try {
    apt(install);
  } catch {
    // A fresh machine may have no package lists yet: fetch them once, then try again.
    try {
      apt(['update']);
      apt(install);
    } catch (err) {
      throw new Error(`${reason}, and \`apt-get update && ${INSTALL_COMMAND}\` failed: ${errorText(err)}`);
    }
  }
}

function goBuild(dir: string, out: string): void {
  execFileSync('go', ['build', '-o', out, 'main.go'], {
    cwd: SOURCE_DIR,
    stdio: 'pipe',
    env: {
      ...process.env,
      // GOPATH mode: the libraries come from Debian's /usr/share/gocode, nothing is downloaded.
      GO111MODULE: 'off',
      GOFLAGS: '',
      GOPATH: `${path.join(dir, 'gopath')}:/usr/share/gocode`,
      GOCACHE: path.join(dir, 'gocache'),
    },
  });
}

/** Path of the compiled renderer, building it on first use (keyed by main.go's hash). */
export function helmTemplateBinary(): string {
  if (binary !== null) return binary;
  const source = fs.readFileSync(path.join(SOURCE_DIR, 'main.go'));
  const hash = createHash('sha256').update(source).digest('hex').slice(0, 16);
  const dir = path.join(CACHE_DIR, hash);
  const target = path.join(dir, 'helm-template');
  if (!fs.existsSync(target)) {
    fs.mkdirSync(dir, { recursive: true });
    // Built under a unique name and renamed, so parallel test workers never run a half-written file.
    const partial = `${target}.${process.pid}.tmp`;
    try {
      goBuild(dir, partial);
    } catch (err) {
      const missingGo = (err as NodeJS.ErrnoException).code === 'ENOENT';
      const missingLib = /cannot find package/.test(errorText(err));
      if (!missingGo && !missingLib)
        throw new Error(`building scripts/helm-template failed: ${errorText(err)}`);
      installPackages(missingGo ? '`go` is not installed' : `Go libraries are missing (${errorText(err)})`);
      try {
        goBuild(dir, partial);
      } catch (again) {
        throw new Error(`building scripts/helm-template failed after installing: ${errorText(again)}`);
      }
    }
    fs.renameSync(partial, target);
  }
  binary = target;
  return target;
}

/**
 * Renders chartDir like `helm template <release> <chartDir> -n <namespace> -f … --set …` and returns
 * the manifests. Throws with the renderer's message (a `required` value, a schema violation, a
 * template error) when helm would fail.
 */
export function helmTemplate(chartDir: string, opts: HelmTemplateOptions): string {
  const args = [opts.release ?? 'release-name', chartDir, '--namespace', opts.namespace ?? 'default'];
  for (const file of opts.values ?? []) args.push('--values', file);
  for (const [key, value] of Object.entries(opts.set ?? {})) args.push('--set', `${key}=${value}`);
  try {
    return execFileSync(helmTemplateBinary(), args, {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      maxBuffer: 16 << 20,
    });
  } catch (err) {
    throw new Error(`helm template ${chartDir} failed: ${errorText(err)}`);
  }
}
