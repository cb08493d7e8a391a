import { describe, expect, it } from 'vitest';
import { canonicalQuery, canonicalUri, signSigV4, type AwsCredentials } from './sigv4.js';

/** The credentials and time of AWS's published Signature Version 4 test suite. */
const SUITE_CREDENTIALS: AwsCredentials = {
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
  sessionToken: null,
};
const SUITE_NOW = Date.parse('2015-08-30T12:36:00Z');
const HOST = 'example.amazonaws.com';
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

function suiteSign(
  method: string,
  path: string,
  opts: { headers?: Record<string, string>; body?: string; sessionToken?: string } = {},
) {
  return signSigV4(
    { method, host: HOST, path, headers: opts.headers, body: opts.body ?? '' },
    {
      service: 'service',
      region: 'us-east-1',
      credentials: { ...SUITE_CREDENTIALS, sessionToken: opts.sessionToken ?? null },
      now: SUITE_NOW,
      // The suite's requests carry no x-amz-content-sha256.
      contentSha256Header: false,
    },
  );
}

const authorization = (signedHeaders: string, signature: string) =>
  `AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=${signedHeaders}, Signature=${signature}`;

describe('SigV4 against the AWS test suite', () => {
  it('when signing get-vanilla, then the canonical request, string to sign and signature match the suite', () => {
    const r = suiteSign('GET', '/');
    expect(r.canonicalRequest).toBe(
      `GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n${EMPTY_SHA256}`,
    );
    expect(r.stringToSign).toBe(
      'AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\nbb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63',
    );
    expect(r.signature).toBe('5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31');
    expect(r.headers).toEqual({
      host: HOST,
      'x-amz-date': '20150830T123600Z',
      authorization: authorization(
        'host;x-amz-date',
        '5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31',
      ),
    });
  });

  it('when signing post-vanilla, then the signature matches the suite', () => {
    const r = suiteSign('POST', '/');
    expect(r.canonicalRequest).toBe(
      `POST\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n${EMPTY_SHA256}`,
    );
    expect(r.signature).toBe('5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b');
  });

  it('when signing get-utf8, then the path is percent-encoded as UTF-8 and the signature matches', () => {
    const r = suiteSign('GET', '/ሴ');
    expect(r.canonicalRequest.split('\n')[1]).toBe('/%E1%88%B4');
    expect(r.stringToSign.split('\n')[3]).toBe(
      '2a0a97d02205e45ce2e994789806b19270cfbbb0921b278ccf58f5249ac42102',
    );
    expect(r.signature).toBe('8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85');
  });

  it('when signing get-vanilla-query-order-key-case, then parameters are sorted and the signature matches', () => {
    const r = suiteSign('GET', '/?Param2=value2&Param1=value1');
    expect(r.canonicalRequest.split('\n')[2]).toBe('Param1=value1&Param2=value2');
    expect(r.signature).toBe('b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500');
  });

  it('when signing get-vanilla-query-order-encoded, then encoded names sort by their encoding', () => {
    const r = suiteSign('GET', '/?Param-3=Value3&Param=Value2&%E1%88%B4=Value1');
    expect(r.canonicalRequest.split('\n')[2]).toBe('%E1%88%B4=Value1&Param=Value2&Param-3=Value3');
    expect(r.signature).toBe('371d3713e185cc334048618a97f809c9ffe339c62934c032af5a0e595648fcac');
  });

  it('when signing get-header-value-trim, then header values are trimmed and inner spaces collapsed', () => {
    const r = suiteSign('GET', '/', { headers: { 'My-Header1': ' value1', 'My-Header2': ' "a   b   c"' } });
    expect(r.canonicalRequest).toContain('my-header1:value1\nmy-header2:"a b c"\n');
    expect(r.signature).toBe('acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736');
  });

  it('when signing post-x-www-form-urlencoded, then the body hash and content-type are signed', () => {
    const r = suiteSign('POST', '/', {
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'Param1=value1',
    });
    expect(r.canonicalRequest.split('\n').at(-1)).toBe(
      '9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e',
    );
    expect(r.headers.authorization).toBe(
      authorization(
        'content-type;host;x-amz-date',
        'ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a',
      ),
    );
  });

  it('when signing post-sts-header-before with a session token, then the token is sent and signed', () => {
    const token =
      'AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==';
    const r = suiteSign('POST', '/', { sessionToken: token });
    expect(r.headers['x-amz-security-token']).toBe(token);
    expect(r.headers.authorization).toBe(
      authorization(
        'host;x-amz-date;x-amz-security-token',
        '85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead',
      ),
    );
  });
});

describe('SigV4 for a Bedrock request', () => {
  // Expected values computed with botocore's SigV4Auth (service 'bedrock', us-west-2) for the same request.
  const body =
    '{"anthropic_version":"bedrock-2023-05-31","max_tokens":256,"messages":[{"role":"user","content":"Hello"}]}';
  const sign = (sessionToken: string | null) =>
    signSigV4(
      {
        method: 'POST',
        host: 'bedrock-runtime.us-west-2.amazonaws.com',
        path: '/model/us.anthropic.claude-3-5-sonnet-20241022-v2%3A0/invoke',
        body,
      },
      {
        service: 'bedrock',
        region: 'us-west-2',
        credentials: { ...SUITE_CREDENTIALS, sessionToken },
        now: Date.parse('2025-01-15T10:30:00Z'),
      },
    );

  it('when the model id is encoded in the path, then the canonical URI encodes it again and the payload hash is signed', () => {
    const r = sign(null);
    expect(r.canonicalRequest).toBe(
      [
        'POST',
        '/model/us.anthropic.claude-3-5-sonnet-20241022-v2%253A0/invoke',
        '',
        'host:bedrock-runtime.us-west-2.amazonaws.com',
        'x-amz-content-sha256:c27c7b8cc50aa532e7f76c05e878607ce1a40437e5970b1ec1d75b972525bfa6',
        'x-amz-date:20250115T103000Z',
        '',
        'host;x-amz-content-sha256;x-amz-date',
        'c27c7b8cc50aa532e7f76c05e878607ce1a40437e5970b1ec1d75b972525bfa6',
      ].join('\n'),
    );
    expect(r.stringToSign).toBe(
      'AWS4-HMAC-SHA256\n20250115T103000Z\n20250115/us-west-2/bedrock/aws4_request\nfc08334c0fcfa38700d346414df9a26e8e874c5e006aa68082be68228f840543',
    );
    expect(r.headers).toEqual({
      host: 'bedrock-runtime.us-west-2.amazonaws.com',
      'x-amz-content-sha256': 'c27c7b8cc50aa532e7f76c05e878607ce1a40437e5970b1ec1d75b972525bfa6',
      'x-amz-date': '20250115T103000Z',
      authorization:
        'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20250115/us-west-2/bedrock/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=26a51162f69111eb0b83bca12f9d715104ce9a8b4f7a60998f1f306ee0706378',
    });
  });

  it('when the credentials carry a session token, then x-amz-security-token is signed too', () => {
    const r = sign('FwoGZXIvYXdzEXAMPLETOKEN');
    expect(r.headers['x-amz-security-token']).toBe('FwoGZXIvYXdzEXAMPLETOKEN');
    expect(r.signature).toBe('6282776a428c56b14682de74e0b15dd8f1ae3f59b157136dec5a97f4b2c29d42');
  });
});

describe('SigV4 canonical parts', () => {
  it('when a path has empty, dot and dot-dot segments, then it is normalized before encoding', () => {
    expect(canonicalUri('//example//')).toBe('/example/');
    expect(canonicalUri('/example/./a/../b')).toBe('/example/b');
    expect(canonicalUri('/example space/')).toBe('/example%20space/');
  });

  it("when a query has reserved characters and no '=', then each part is strictly encoded", () => {
    expect(canonicalQuery("b=it's&a&c=x%2By")).toBe('a=&b=it%27s&c=x%2By');
  });
});
