/**
 * The strongest check a rendered switchyard.yaml (Helm chart or kustomize component) can get without
 * a cluster: lay the file and its secret files out as the control-plane pod would see them, resolve its
 * `{ env }` and `{ file }` references with declarative-file.ts (what the control plane runs at start),
 * and hand the document to a real ControlPlane as a dry run.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import type { ApplyOutcome, DeclaredChange, DeclaredKind } from '@switchyard/control-plane';
import { startAdminHarness } from '../../control-plane/test/admin-harness.js';
import { readDeclarativeFile } from '../src/declarative-file.js';

/** A secret reference in the document: where it is, and the variable or (in-pod, absolute) file it names. */
export interface SecretRef {
  path: string;
  env?: string;
  file?: string;
}

type Doc = Record<string, unknown>;

const isRecord = (v: unknown): v is Doc => typeof v === 'object' && v !== null && !Array.isArray(v);
const entries = (doc: Doc, key: string): Doc[] => {
  const v = doc[key];
  return Array.isArray(v) ? v.filter(isRecord) : [];
};

/** Parses a rendered switchyard.yaml, failing when it is not a mapping with `version: 1`. */
export function parseDocument(text: string): Doc {
  const doc: unknown = parse(text);
  if (!isRecord(doc) || doc.version !== 1) throw new Error('switchyard.yaml: not a mapping with version: 1');
  return doc;
}

/**
 * The document's secret references, `{ file }` paths resolved as the control plane resolves them:
 * relative to the directory of `configFile` (the path SWITCHYARD_CONFIG_FILE names in the pod).
 */
export function secretRefs(doc: Doc, configFile: string): SecretRef[] {
  const refs: SecretRef[] = [];
  const add = (where: string, ref: unknown): void => {
    if (!isRecord(ref)) return;
    const out: SecretRef = { path: where };
    if (typeof ref.env === 'string') out.env = ref.env;
    if (typeof ref.file === 'string') out.file = path.posix.resolve(path.posix.dirname(configFile), ref.file);
    refs.push(out);
  };
  for (const [i, channel] of entries(doc, 'channels').entries())
    for (const [j, account] of entries(channel, 'accounts').entries())
      add(`channels[${i}].accounts[${j}].api_key`, account.api_key);
  for (const [i, key] of entries(doc, 'keys').entries()) add(`keys[${i}].key`, key.key);
  return refs;
}

/** Every entry the document declares, as the apply report names it (accounts as `<channel>/<account>`). */
export function declaredEntries(doc: Doc): Array<Pick<DeclaredChange, 'kind' | 'name'>> {
  const out: Array<Pick<DeclaredChange, 'kind' | 'name'>> = [];
  const named = (kind: DeclaredKind, list: string, id = 'name'): void => {
    for (const e of entries(doc, list)) out.push({ kind, name: String(e[id]) });
  };
  named('group', 'groups');
  named('price', 'prices', 'model');
  named('channel', 'channels');
  for (const channel of entries(doc, 'channels'))
    for (const [j, account] of entries(channel, 'accounts').entries())
      out.push({
        kind: 'account',
        name: `${String(channel.name)}/${typeof account.name === 'string' ? account.name : `account-${j + 1}`}`,
      });
  named('user', 'users');
  named('key', 'keys');
  return out;
}

/** A secret value as an operator would generate one (`openssl rand -hex 24`, prefixed like a real key). */
export const generatedSecret = (): string => `sk-test-${randomBytes(24).toString('hex')}`;

/**
 * Writes `text` at `configFile` and each of `files` (in-pod absolute path → content) under a fresh
 * temporary root, reads it back with readDeclarativeFile against `env`, and dry-runs the resolved
 * document on a control plane over an empty in-memory database. Throws what the control plane throws.
 */
export async function dryRunInPodLayout(opts: {
  text: string;
  configFile: string;
  env: Record<string, string>;
  files: Record<string, string>;
}): Promise<ApplyOutcome> {
  const root = mkdtempSync(path.join(tmpdir(), 'switchyard-declarative-'));
  const inRoot = (p: string): string => path.join(root, ...p.split('/'));
  const harness = await startAdminHarness();
  try {
    for (const [file, content] of Object.entries({ ...opts.files, [opts.configFile]: opts.text })) {
      mkdirSync(path.dirname(inRoot(file)), { recursive: true });
      writeFileSync(inRoot(file), content);
    }
    const doc = await readDeclarativeFile(inRoot(opts.configFile), opts.env);
    return await harness.controlPlane.apply(doc, { dryRun: true });
  } finally {
    await harness.close();
    rmSync(root, { recursive: true, force: true });
  }
}
