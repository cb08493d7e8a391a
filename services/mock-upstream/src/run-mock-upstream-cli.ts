import { MOCK_UPSTREAM_USAGE, parseMockUpstreamArgs } from './cli-args.js';
import { startMockUpstream } from './mock-upstream.js';

/** Hooks for embedding the CLI (tests, the main `switchyard` command); all optional. */
export interface MockUpstreamCliIo {
  /** Where the listening line goes; default console.log. */
  log?: (line: string) => void;
  /** Stops the server like SIGINT/SIGTERM do. */
  signal?: AbortSignal;
  /** Called once listening, with the base URL clients should use. */
  onListening?: (url: string) => void;
}

/**
 * Runs the mock upstream from command-line arguments until SIGINT/SIGTERM (or `io.signal`), then closes
 * it and resolves. Throws on invalid arguments.
 */
export async function runMockUpstreamCli(argv: string[], io: MockUpstreamCliIo = {}): Promise<void> {
  const log = io.log ?? ((line: string) => console.log(line));
  const { help, options } = parseMockUpstreamArgs(argv);
  if (help) {
    log(MOCK_UPSTREAM_USAGE);
    return;
  }
  const mock = await startMockUpstream(options);
  const shownHost = options.host.includes(':') ? `[${options.host}]` : options.host;
  log(`mock-upstream listening on http://${shownHost}:${mock.port}`);
  io.onListening?.(mock.url);
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      io.signal?.removeEventListener('abort', stop);
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    if (io.signal?.aborted) stop();
    else io.signal?.addEventListener('abort', stop, { once: true });
  });
  await mock.close();
}
