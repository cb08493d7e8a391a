import { describe, expect, it } from 'vitest';
import { runMockUpstreamCli } from './run-mock-upstream-cli.js';

describe('runMockUpstreamCli', () => {
  it('serves until stopped, printing the listening line', async () => {
    const lines: string[] = [];
    const controller = new AbortController();
    let url = '';
    let listening!: () => void;
    const ready = new Promise<void>((resolve) => (listening = resolve));
    const done = runMockUpstreamCli(['--port', '0', '--status', '418'], {
      log: (line) => lines.push(line),
      signal: controller.signal,
      onListening: (u) => {
        url = u;
        listening();
      },
    });
    await ready;
    expect(lines).toEqual([expect.stringMatching(/^mock-upstream listening on http:\/\/127\.0\.0\.1:\d+$/)]);
    expect(lines[0]).toContain(url);
    expect((await fetch(`${url}/v1/models`)).status).toBe(418);
    controller.abort();
    await done;
    await expect(fetch(`${url}/v1/models`)).rejects.toThrow();
  });
});
