import { describe, expect, it } from 'vitest';
import { checkBaseUrl } from './base-url-policy.js';

describe('checkBaseUrl', () => {
  it.each([
    ['https://api.openai.com/v1/', 'https://api.openai.com/v1'],
    ['https://api.openai.com', 'https://api.openai.com'],
    ['HTTPS://API.Example.COM:443/v1//', 'https://api.example.com/v1'],
    ['http://localhost:11434/v1', 'http://localhost:11434/v1'],
    ['http://10.1.2.3:8000', 'http://10.1.2.3:8000'],
    ['http://[::1]:8080/', 'http://[::1]:8080'],
    ['http://169.253.1.1', 'http://169.253.1.1'],
    ['http://[fd00:ec2::255]', 'http://[fd00:ec2::255]'],
    ['http://metadata.google.internal.example.com', 'http://metadata.google.internal.example.com'],
  ])('allows %s as %s', (input, url) => {
    expect(checkBaseUrl(input)).toEqual({ ok: true, url });
  });

  it.each([
    'http://169.254.169.254',
    'http://169.254.170.2/v2/credentials',
    'http://0251.0376.0251.0376/',
    'http://[fd00:ec2::254]',
    'http://[FD00:EC2:0:0:0:0:0:254]',
    'http://[fe80::a9fe:a9fe]',
    'http://[febf::1]',
    'http://[::ffff:a9fe:a9fe]',
    'http://[64:ff9b::169.254.169.254]',
    'http://metadata.google.internal',
    'http://Metadata.Google.Internal.:80/',
  ])('refuses the link-local / metadata address %s', (input) => {
    const check = checkBaseUrl(input);
    expect(check.ok).toBe(false);
    expect(check.ok ? '' : check.reason).toMatch(/metadata/);
  });

  it.each([
    '',
    'api.openai.com',
    'file:///etc/passwd',
    'ws://x.example',
    'https://a:b@x.example',
    'https://x.example/#f',
  ])('refuses the non-base URL %j', (input) => {
    expect(checkBaseUrl(input).ok).toBe(false);
  });
});
