import { describe, expect, it } from 'vitest';
import { parseMockUpstreamArgs } from './cli-args.js';

describe('parseMockUpstreamArgs', () => {
  it('defaults to 127.0.0.1:9090 and takes the port from MOCK_UPSTREAM_PORT', () => {
    expect(parseMockUpstreamArgs([], {})).toEqual({
      help: false,
      options: { port: 9090, host: '127.0.0.1' },
    });
    expect(parseMockUpstreamArgs([], { MOCK_UPSTREAM_PORT: '7000' }).options.port).toBe(7000);
    expect(parseMockUpstreamArgs(['--port', '7001'], { MOCK_UPSTREAM_PORT: '7000' }).options.port).toBe(7001);
  });

  it('maps the flags to options and faults', () => {
    const { options } = parseMockUpstreamArgs(
      [
        '--host',
        '0.0.0.0',
        '--port=0',
        '--chunks',
        '3',
        '--latency-ms',
        '25',
        '--status',
        '503',
        '--require-key',
        'k',
      ],
      {},
    );
    expect(options).toEqual({
      host: '0.0.0.0',
      port: 0,
      chunks: 3,
      faults: { latencyMs: 25, status: 503 },
      requireKey: 'k',
    });
    expect(parseMockUpstreamArgs(['-h'], {}).help).toBe(true);
  });

  it('when --cached-tokens and --aws-credentials are given, then they become the matching options', () => {
    const { options } = parseMockUpstreamArgs(
      ['--cached-tokens', '12', '--aws-credentials', 'AKID:se/cret:tok'],
      {},
    );
    expect(options).toMatchObject({
      cachedTokens: 12,
      awsCredentials: { accessKeyId: 'AKID', secretAccessKey: 'se/cret', sessionToken: 'tok' },
    });
    expect(parseMockUpstreamArgs(['--aws-credentials', 'AKID:secret'], {}).options.awsCredentials).toEqual({
      accessKeyId: 'AKID',
      secretAccessKey: 'secret',
    });
    expect(() => parseMockUpstreamArgs(['--aws-credentials', 'AKID'], {})).toThrow(/--aws-credentials/);
  });

  it('rejects bad values and unknown flags', () => {
    expect(() => parseMockUpstreamArgs(['--port', 'abc'], {})).toThrow(/--port/);
    expect(() => parseMockUpstreamArgs(['--status', '200'], {})).toThrow(/--status/);
    expect(() => parseMockUpstreamArgs(['--chunks', '0'], {})).toThrow(/--chunks/);
    expect(() => parseMockUpstreamArgs(['--bogus'], {})).toThrow();
  });
});
