import {
  closeSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';
import type { UsageEvent } from '@switchyard/core';
import { decodeUsageEvent, encodeUsageEvent } from './usage-event-json.js';

/** Options of {@link UsageSpool.open}. */
export interface UsageSpoolOptions {
  /** Directory holding the segments (`spool-<seq>.jsonl`) and a lock file; created if missing. */
  dir: string;
  /** Events per segment before a new one starts. Default 10,000 (see `DEFAULT_SEGMENT_EVENTS`). */
  segmentEvents?: number;
  /** Bytes per segment before a new one starts. Default 4 MiB (see `DEFAULT_SEGMENT_BYTES`). */
  segmentBytes?: number;
  /** Torn or undecodable lines found on open, and failing appends or deletions. */
  onError?: (error: Error) => void;
}

/** An event read back from disk on open, with the segment it must be acknowledged against. */
export interface SpooledEvent {
  event: UsageEvent;
  segment: number;
}

/**
 * Why 10,000 events or 4 MiB (usage events are ~400 bytes of JSON, so both limits meet near the same
 * size): a segment is deleted only when all its events are acknowledged, so smaller segments free disk
 * sooner during a long outage; larger ones mean fewer files. At the default `maxPending` of 100,000
 * a full spool is about ten segments.
 */
const DEFAULT_SEGMENT_EVENTS = 10_000;
const DEFAULT_SEGMENT_BYTES = 4 * 1024 * 1024;
const SEGMENT_NAME = /^spool-(\d+)\.jsonl$/;
const LOCK_FILE = 'spool.lock';

interface Segment {
  file: string;
  /** Events written to (or read back from) the file. */
  events: number;
  acked: number;
  bytes: number;
}

/** Directories opened by this process, so two buses in one process never share a spool. */
const openDirs = new Set<string>();

/**
 * A relay's usage events on local disk while they wait for the usage bus to acknowledge them, so a
 * relay restart (or crash) during a NATS outage loses none.
 *
 * Events are appended as JSON lines to numbered segment files; the newest segment is the only one
 * written to. Each appended event is acknowledged later by its segment number; a segment whose events
 * are all acknowledged is deleted (the one being written is truncated instead, so an idle relay does
 * not create and delete a file per request). On open, the segments left by a previous run are read
 * back in order; the caller publishes them again before anything new.
 */
export class UsageSpool {
  readonly #dir: string;
  readonly #segmentEvents: number;
  readonly #segmentBytes: number;
  readonly #onError: ((error: Error) => void) | undefined;
  readonly #segments = new Map<number, Segment>();
  #nextSeq: number;
  /** The segment appended to, and its open file descriptor; null until the first append. */
  #active: { seq: number; fd: number } | null = null;
  #bytes = 0;
  #closed = false;

  private constructor(opts: UsageSpoolOptions, dir: string, nextSeq: number) {
    this.#dir = dir;
    this.#segmentEvents = opts.segmentEvents ?? DEFAULT_SEGMENT_EVENTS;
    this.#segmentBytes = opts.segmentBytes ?? DEFAULT_SEGMENT_BYTES;
    this.#onError = opts.onError;
    this.#nextSeq = nextSeq;
  }

  /**
   * Opens (creating) the spool directory, takes its lock and reads back the events left there, oldest
   * first. Throws when the directory cannot be used or another live process holds it.
   */
  static open(opts: UsageSpoolOptions): { spool: UsageSpool; recovered: SpooledEvent[] } {
    const dir = path.resolve(opts.dir);
    if (openDirs.has(dir)) throw new Error(`usage spool ${dir} is already open in this process`);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    lockDir(dir);
    openDirs.add(dir);
    try {
      const seqs = readdirSync(dir)
        .map((name) => SEGMENT_NAME.exec(name)?.[1])
        .filter((seq): seq is string => seq !== undefined)
        .map(Number)
        .sort((a, b) => a - b);
      const spool = new UsageSpool(opts, dir, (seqs.at(-1) ?? 0) + 1);
      const recovered: SpooledEvent[] = [];
      for (const seq of seqs) {
        const segment = spool.#readBack(seq, recovered);
        if (segment) {
          spool.#segments.set(seq, segment);
          spool.#bytes += segment.bytes;
        }
      }
      return { spool, recovered };
    } catch (err) {
      openDirs.delete(dir);
      unlinkQuietly(path.join(dir, LOCK_FILE));
      throw err;
    }
  }

  /** Bytes of the segments on disk (acknowledged events included until their segment goes). */
  get bytes(): number {
    return this.#bytes;
  }

  /**
   * Appends one event as a JSON line and returns its segment number, for {@link ack}. Synchronous, so
   * the event is in the file when the caller returns.
   *
   * Why no fsync per event: it would cost a disk flush (milliseconds) on every request. The line is in
   * the OS page cache once `writeSync` returns, so a crash of the process loses nothing; a crash of
   * the machine (or the OS) may lose the last events written, which is accepted.
   */
  append(event: UsageEvent): number {
    if (this.#closed) throw new Error('usage spool is closed');
    const line = Buffer.from(`${encodeUsageEvent(event)}\n`);
    const active = this.#activeSegment(line.length);
    const segment = this.#segments.get(active.seq)!;
    try {
      let written = 0;
      while (written < line.length) written += writeSync(active.fd, line, written);
    } catch (err) {
      segment.bytes += line.length;
      this.#bytes += line.length;
      // The line may be half written: start a new segment so the next line is not glued to it (the
      // half line is then a torn last line, skipped on read-back).
      this.#seal();
      throw err;
    }
    segment.bytes += line.length;
    this.#bytes += line.length;
    segment.events++;
    return active.seq;
  }

  /** Marks one event of `segment` as acknowledged; the segment goes once all of its events are. */
  ack(seq: number): void {
    if (this.#closed) return; // a publish that completed after close(): its event is re-sent next run
    const segment = this.#segments.get(seq);
    if (!segment) return;
    segment.acked++;
    if (segment.acked < segment.events) return;
    if (this.#active?.seq === seq) {
      try {
        ftruncateSync(this.#active.fd, 0);
      } catch (err) {
        this.#onError?.(toError(err, `truncating usage spool segment ${segment.file} failed`));
        this.#seal(); // a sealed segment with every event acknowledged is deleted; the next append starts anew
        return;
      }
      this.#bytes -= segment.bytes;
      segment.events = segment.acked = segment.bytes = 0;
      return;
    }
    this.#remove(seq);
  }

  /** Closes the open segment (deleting it when it holds no unacknowledged event) and the lock. */
  close(): void {
    if (this.#closed) return;
    this.#seal();
    this.#closed = true;
    openDirs.delete(this.#dir);
    unlinkQuietly(path.join(this.#dir, LOCK_FILE));
  }

  #activeSegment(lineBytes: number): { seq: number; fd: number } {
    if (this.#active) {
      const segment = this.#segments.get(this.#active.seq)!;
      const full =
        segment.events >= this.#segmentEvents ||
        (segment.events > 0 && segment.bytes + lineBytes > this.#segmentBytes);
      if (!full) return this.#active;
      this.#seal();
    }
    const seq = this.#nextSeq++;
    const file = segmentFile(this.#dir, seq);
    const fd = openSync(file, 'a', 0o600);
    this.#segments.set(seq, { file, events: 0, acked: 0, bytes: 0 });
    this.#active = { seq, fd };
    return this.#active;
  }

  /** Stops writing to the active segment; it stays until its events are acknowledged. */
  #seal(): void {
    const active = this.#active;
    if (!active) return;
    this.#active = null;
    try {
      closeSync(active.fd);
    } catch {
      // already unusable; nothing more to write to it
    }
    const segment = this.#segments.get(active.seq);
    if (segment && segment.acked >= segment.events) this.#remove(active.seq);
  }

  #remove(seq: number): void {
    const segment = this.#segments.get(seq)!;
    this.#segments.delete(seq);
    this.#bytes -= segment.bytes;
    try {
      unlinkSync(segment.file);
    } catch (err) {
      // Left behind, its events are published again at next open: duplicates the stream or the
      // ledger's unique request id absorb.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        this.#onError?.(toError(err, `deleting usage spool segment ${segment.file} failed`));
      }
    }
  }

  /** Reads one segment left by a previous run; null (and the file deleted) when it holds no event. */
  #readBack(seq: number, into: SpooledEvent[]): Segment | null {
    const file = segmentFile(this.#dir, seq);
    const content = readFileSync(file);
    const text = content.toString('utf8');
    const lines = text.split('\n');
    // A complete file ends with a newline, so the last element is ''; anything else there is a line
    // whose append was cut short (a crash or a full disk).
    const tail = lines.pop()!;
    if (tail !== '') {
      this.#onError?.(
        new Error(`usage spool segment ${file}: skipped a torn last line (${Buffer.byteLength(tail)} bytes)`),
      );
    }
    let events = 0;
    lines.forEach((line, i) => {
      const event = decodeUsageEvent(line);
      if (!event) {
        // Redelivering it is impossible; report it so the lost usage can be reconstructed from logs.
        this.#onError?.(new Error(`usage spool segment ${file}: skipped undecodable line ${i + 1}`));
        return;
      }
      into.push({ event, segment: seq });
      events++;
    });
    if (events === 0) {
      unlinkQuietly(file);
      return null;
    }
    return { file, events, acked: 0, bytes: content.length };
  }
}

/**
 * Takes `dir`'s lock file, or throws when a live process other than this one holds it. A lock left by
 * a dead process (or by this pid, as a container's pid 1 restarting) is taken over.
 */
function lockDir(dir: string): void {
  const lock = path.join(dir, LOCK_FILE);
  try {
    writeFileSync(lock, String(process.pid), { flag: 'wx', mode: 0o600 });
    return;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const holder = Number(readFileSync(lock, 'utf8').trim());
  if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && processAlive(holder)) {
    throw new Error(`usage spool ${dir} is in use by process ${holder} (${lock})`);
  }
  writeFileSync(lock, String(process.pid), { mode: 0o600 });
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
}

/** Zero-padded, so a directory listing shows segments in order. */
function segmentFile(dir: string, seq: number): string {
  return path.join(dir, `spool-${String(seq).padStart(12, '0')}.jsonl`);
}

function unlinkQuietly(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    // already gone
  }
}

function toError(err: unknown, message: string): Error {
  return new Error(err instanceof Error ? `${message}: ${err.message}` : message, { cause: err });
}
