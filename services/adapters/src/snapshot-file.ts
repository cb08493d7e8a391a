import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { SecretBox, hashKey } from '@switchyard/core';
import type { SnapshotMessage } from './grpc-config-proto.js';

/**
 * A relay's last config snapshot on local disk, so it can start while the control plane is away.
 * The snapshot holds decrypted upstream credentials, so the file is AES-256-GCM sealed with a key
 * derived from the internal token (which every relay already holds) and written with mode 0600.
 */
export class SnapshotFile {
  readonly #file: string;
  readonly #box: SecretBox;

  constructor(file: string, internalToken: string) {
    this.#file = file;
    this.#box = new SecretBox(Buffer.from(hashKey(`switchyard-snapshot-file:${internalToken}`), 'hex'));
  }

  /** The saved snapshot, or null when there is none (or it cannot be opened with this token). */
  load(): SnapshotMessage | null {
    let sealed: string;
    try {
      sealed = readFileSync(this.#file, 'utf8');
    } catch {
      return null;
    }
    try {
      return JSON.parse(this.#box.decrypt(sealed.trim())) as SnapshotMessage;
    } catch {
      return null;
    }
  }

  /** Replaces the saved snapshot atomically (write to a temporary file, then rename). */
  save(message: SnapshotMessage): void {
    mkdirSync(path.dirname(this.#file), { recursive: true });
    const tmp = `${this.#file}.${process.pid}.tmp`;
    writeFileSync(tmp, this.#box.encrypt(JSON.stringify(message)), { mode: 0o600 });
    renameSync(tmp, this.#file);
  }
}
