import { describe, expect, it } from 'vitest';
import { canonicalQuery, canonicalUri, sha256Hex, verifySigV4 } from './sigv4-verifier.js';
import type { SignedRequest } from './sigv4-verifier.js';

/**
 * AWS's published Signature Version 4 test suite, as kept by awslabs/aws-c-auth
 * (tests/aws-signing-test-suite/v4/<name>/header-signed-request.txt): each is a request signed with
 * AKIDEXAMPLE / wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY, region us-east-1, service "service",
 * at 20150830T123600Z.
 */
const VECTORS: Record<string, string> = {
  'get-vanilla':
    'GET / HTTP/1.1\nHost:example.amazonaws.com\nX-Amz-Date:20150830T123600Z\nAuthorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31\n\n',
  'get-vanilla-query-order-key-case':
    'GET /?Param2=value2&Param1=value1 HTTP/1.1\nHost:example.amazonaws.com\nAuthorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500\nX-Amz-Date:20150830T123600Z\n\n',
  'get-vanilla-empty-query-key':
    'GET /?Param1=value1 HTTP/1.1\nHost:example.amazonaws.com\nAuthorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=a67d582fa61cc504c4bae71f336f98b97f1ea3c7a6bfe1b6e45aec72011b9aeb\nX-Amz-Date:20150830T123600Z\n\n',
  'get-vanilla-query-unreserved':
    'GET /?-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz=-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz HTTP/1.1\nHost:example.amazonaws.com\nAuthorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197\nX-Amz-Date:20150830T123600Z\n\n',
  'get-unreserved':
    'GET /-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz HTTP/1.1\nHost:example.amazonaws.com\nAuthorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f\nX-Amz-Date:20150830T123600Z\n\n',
  'get-utf8':
    'GET /ሴ HTTP/1.1\nHost:example.amazonaws.com\nAuthorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85\nX-Amz-Date:20150830T123600Z\n\n',
  'get-space-unnormalized':
    'GET /example space/ HTTP/1.1\nHost:example.amazonaws.com\nx-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\nAuthorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741\nX-Amz-Date:20150830T123600Z\n\n',
  'get-header-value-trim':
    'GET / HTTP/1.1\nHost:example.amazonaws.com\nMy-Header1: value1\nMy-Header2: "a   b   c"\nAuthorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;my-header1;my-header2;x-amz-date, Signature=acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736\nX-Amz-Date:20150830T123600Z\n\n',
  'get-header-key-duplicate':
    'GET / HTTP/1.1\nHost:example.amazonaws.com\nMy-Header1:value2\nMy-Header1:value2\nMy-Header1:value1\nAuthorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;my-header1;x-amz-date, Signature=c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea\nX-Amz-Date:20150830T123600Z\n\n',
  'post-vanilla':
    'POST / HTTP/1.1\nHost:example.amazonaws.com\nAuthorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b\nX-Amz-Date:20150830T123600Z\n\n',
  'post-header-key-sort':
    'POST / HTTP/1.1\nHost:example.amazonaws.com\nMy-Header1:value1\nAuthorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;my-header1;x-amz-date, Signature=c5410059b04c1ee005303aed430f6e6645f61f4dc9e1461ec8f8916fdf18852c\nX-Amz-Date:20150830T123600Z\n\n',
  'post-x-www-form-urlencoded':
    'POST / HTTP/1.1\nContent-Type:application/x-www-form-urlencoded\nHost:example.amazonaws.com\nContent-Length:13\nx-amz-content-sha256:9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e\nAuthorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=content-length;content-type;host;x-amz-content-sha256;x-amz-date, Signature=d3875051da38690788ef43de4db0d8f280229d82040bfac253562e56c3f20e0b\nX-Amz-Date:20150830T123600Z\n\nParam1=value1',
};

const SESSION_TOKEN_VECTOR =
  'GET / HTTP/1.1\nHost:example.amazonaws.com\nAuthorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date;x-amz-security-token, Signature=07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8\nX-Amz-Date:20150830T123600Z\nX-Amz-Security-Token:6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267\n\n';

const CREDENTIALS = {
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
};

/** Parses the suite's request text: request line, `Name:value` header lines, blank line, body. */
function parseVector(text: string): SignedRequest {
  const blank = text.indexOf('\n\n');
  const [requestLine = '', ...headerLines] = text.slice(0, blank).split('\n');
  const method = requestLine.slice(0, requestLine.indexOf(' '));
  const url = requestLine.slice(method.length + 1, requestLine.lastIndexOf(' HTTP/'));
  const rawHeaders: string[] = [];
  for (const line of headerLines) {
    const colon = line.indexOf(':');
    rawHeaders.push(line.slice(0, colon), line.slice(colon + 1));
  }
  return { method, url, rawHeaders, body: Buffer.from(text.slice(blank + 2)) };
}

function withHeader(req: SignedRequest, name: string, value: string): SignedRequest {
  const rawHeaders = [...req.rawHeaders];
  const at = rawHeaders.findIndex((h, i) => i % 2 === 0 && h.toLowerCase() === name.toLowerCase());
  rawHeaders[at + 1] = value;
  return { ...req, rawHeaders };
}

describe('verifySigV4 against the AWS SigV4 test suite', () => {
  it.each(Object.entries(VECTORS))('when the request is %s, then the signature verifies', (_name, text) => {
    expect(verifySigV4(parseVector(text), CREDENTIALS)).toEqual({
      ok: true,
      accessKeyId: 'AKIDEXAMPLE',
      region: 'us-east-1',
      service: 'service',
    });
  });

  it('when the session token is configured and sent signed, then get-vanilla-with-session-token verifies', () => {
    const sessionToken = '6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267';
    const req = parseVector(SESSION_TOKEN_VECTOR);
    expect(verifySigV4(req, { ...CREDENTIALS, sessionToken }).ok).toBe(true);
    expect(verifySigV4(req, { ...CREDENTIALS, sessionToken: 'other' })).toMatchObject({ ok: false });
  });

  it('when the secret differs, then verification fails with the canonical request and string to sign', () => {
    const result = verifySigV4(parseVector(VECTORS['get-vanilla'] ?? ''), {
      ...CREDENTIALS,
      secretAccessKey: 'wrong',
    });
    expect(result).toEqual({
      ok: false,
      reason: 'the signature differs',
      canonicalRequest: `GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n${sha256Hex('')}`,
      stringToSign: expect.stringMatching(
        /^AWS4-HMAC-SHA256\n20150830T123600Z\n20150830\/us-east-1\/service\/aws4_request\n[0-9a-f]{64}$/,
      ),
    });
  });

  it('when a signed header, the path, the query or the body changed, then verification fails', () => {
    const trim = parseVector(VECTORS['get-header-value-trim'] ?? '');
    expect(verifySigV4(withHeader(trim, 'My-Header1', 'value2'), CREDENTIALS).ok).toBe(false);
    const vanilla = parseVector(VECTORS['get-vanilla'] ?? '');
    expect(verifySigV4({ ...vanilla, url: '/other' }, CREDENTIALS).ok).toBe(false);
    expect(verifySigV4({ ...vanilla, url: '/?Param1=value1' }, CREDENTIALS).ok).toBe(false);
    expect(verifySigV4({ ...vanilla, body: Buffer.from('x') }, CREDENTIALS).ok).toBe(false);
    const form = parseVector(VECTORS['post-x-www-form-urlencoded'] ?? '');
    expect(verifySigV4({ ...form, body: Buffer.from('Param1=value2') }, CREDENTIALS)).toMatchObject({
      ok: false,
      reason: 'x-amz-content-sha256 is not the hash of the body',
    });
  });

  it('when the Authorization header is missing, malformed or names another key, service or date, then it fails', () => {
    const vanilla = parseVector(VECTORS['get-vanilla'] ?? '');
    const noAuth = { ...vanilla, rawHeaders: vanilla.rawHeaders.slice(0, 4) };
    expect(verifySigV4(noAuth, CREDENTIALS)).toEqual({
      ok: false,
      reason: 'the Authorization header is missing',
    });
    expect(verifySigV4(withHeader(vanilla, 'Authorization', 'Bearer x'), CREDENTIALS).ok).toBe(false);
    expect(verifySigV4(vanilla, { ...CREDENTIALS, accessKeyId: 'AKIDOTHER' })).toEqual({
      ok: false,
      reason: 'unknown access key id',
    });
    expect(verifySigV4(vanilla, CREDENTIALS, 'bedrock')).toMatchObject({
      ok: false,
      reason: expect.stringContaining("'bedrock'"),
    });
    expect(verifySigV4(withHeader(vanilla, 'X-Amz-Date', '20150831T123600Z'), CREDENTIALS).ok).toBe(false);
  });
});

describe('canonical URI and query', () => {
  it('when a path segment is already percent-encoded, then it is encoded once more', () => {
    expect(canonicalUri('/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/invoke')).toBe(
      '/model/anthropic.claude-3-5-sonnet-20240620-v1%253A0/invoke',
    );
    expect(canonicalUri('')).toBe('/');
  });

  it('when the query has unsorted, valueless and encoded parameters, then it is sorted and re-encoded', () => {
    expect(canonicalQuery('b=2&a=x%2Fy&c&a=1')).toBe('a=1&a=x%2Fy&b=2&c=');
  });
});
