import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { parse } from 'yaml';
import { GatewayError } from '@switchyard/core';
import type { ApplyOutcome, ControlPlane } from '@switchyard/control-plane';

/**
 * Reading a declarative configuration file (switchyard.yaml) where it is used — by `switchyard apply
 * -f` on an operator's machine, or by a control plane at start — and resolving its secret references
 * there: `{ env: VAR }` from that process's environment, `{ file: PATH }` from that machine (a mounted
 * Kubernetes Secret; relative paths are relative to the configuration file). The result is the
 * document POST /admin/v1/apply takes, each reference replaced by `{ value }`. Secret values are never
 * part of an error message.
 */

/** A file that cannot be read or parsed, or a reference that cannot be resolved; the message names the file. */
export class DeclarativeFileError extends Error {}

/** Where the secret fields are: `channels[].accounts[].api_key` and `keys[].key`. */
const SECRET_FIELDS: ReadonlyArray<{ list: string; nested?: string; field: string }> = [
  { list: 'channels', nested: 'accounts', field: 'api_key' },
  { list: 'keys', field: 'key' },
];

/**
 * Reads `file` (YAML or JSON), and resolves its secret references from `env` and the file system.
 * Throws DeclarativeFileError naming the file, the JSON path of the reference and the variable or
 * secret file that is missing. Plain-string secrets are left for the API to refuse (naming their path).
 */
export async function readDeclarativeFile(
  file: string,
  env: Readonly<Record<string, string | undefined>>,
): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new DeclarativeFileError(`cannot read the configuration file ${file}: ${errorCode(err)}`);
  }
  let doc: unknown;
  try {
    doc = parse(text, { prettyErrors: true });
  } catch (err) {
    throw new DeclarativeFileError(`${file} is not valid YAML or JSON: ${(err as Error).message}`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new DeclarativeFileError(`${file}: the top level must be a mapping with \`version: 1\``);
  }
  const base = path.dirname(path.resolve(file));
  const root = doc as Record<string, unknown>;
  for (const spec of SECRET_FIELDS) {
    const entries = root[spec.list];
    if (!Array.isArray(entries)) continue;
    for (const [i, entry] of entries.entries()) {
      if (spec.nested === undefined) {
        await resolveField(file, base, env, entry, `${spec.list}[${i}]`, spec.field);
        continue;
      }
      const nested = isRecord(entry) ? entry[spec.nested] : undefined;
      if (!Array.isArray(nested)) continue;
      for (const [j, inner] of nested.entries()) {
        await resolveField(file, base, env, inner, `${spec.list}[${i}].${spec.nested}[${j}]`, spec.field);
      }
    }
  }
  return doc;
}

async function resolveField(
  file: string,
  base: string,
  env: Readonly<Record<string, string | undefined>>,
  entry: unknown,
  entryPath: string,
  field: string,
): Promise<void> {
  if (!isRecord(entry)) return;
  const ref = entry[field];
  if (!isRecord(ref)) return;
  const where = `${file}: ${entryPath}.${field}`;
  const keys = Object.keys(ref);
  if (keys.length !== 1 || (typeof ref.env !== 'string' && typeof ref.file !== 'string')) {
    if ('value' in ref) {
      throw new DeclarativeFileError(
        `${where}: write the secret as { env: VARIABLE } or { file: /path }, not as a value in the file`,
      );
    }
    return; // Not a reference: the API names what is wrong with it.
  }
  if (typeof ref.env === 'string') {
    const value = env[ref.env];
    if (value === undefined || value === '') {
      throw new DeclarativeFileError(`${where}: the environment variable ${ref.env} is not set`);
    }
    entry[field] = { value };
    return;
  }
  const secretFile = path.resolve(base, ref.file as string);
  let value: string;
  try {
    value = await readFile(secretFile, 'utf8');
  } catch (err) {
    throw new DeclarativeFileError(`${where}: cannot read the secret file ${secretFile}: ${errorCode(err)}`);
  }
  // A mounted Secret or `echo key > file` ends with a newline that is no part of the secret.
  value = value.replace(/\r?\n$/, '');
  if (value === '') throw new DeclarativeFileError(`${where}: the secret file ${secretFile} is empty`);
  entry[field] = { value };
}

/**
 * Start-up: applies SWITCHYARD_CONFIG_FILE to a started control plane, after migrations and before
 * the process serves. A file that cannot be read, a missing variable or a document the control plane
 * refuses throws DeclarativeFileError naming the file, the path in it and the variable.
 */
export async function applyConfigFileAtStart(
  controlPlane: ControlPlane,
  file: string,
  env: Readonly<Record<string, string | undefined>>,
  logger: Logger,
): Promise<ApplyOutcome> {
  const doc = await readDeclarativeFile(file, env);
  let outcome: ApplyOutcome;
  try {
    outcome = await controlPlane.apply(doc);
  } catch (err) {
    if (err instanceof GatewayError) {
      throw new DeclarativeFileError(`the configuration file ${file} was not applied: ${err.message}`);
    }
    throw err;
  }
  const changed = outcome.changes.filter((c) => c.action !== 'unchanged');
  logger.info(
    { file, entries: outcome.changes.length, changed: changed.length },
    'configuration file applied at start',
  );
  return outcome;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function errorCode(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? (err as Error).message;
}
