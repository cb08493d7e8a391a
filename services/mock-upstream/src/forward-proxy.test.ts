import { createServer, request, type IncomingMessage } from 'node:http';
import { connect, type Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startForwardProxy, type ForwardProxy } from './forward-proxy.js';

const AUTH = { username: 'tester', password: 'proxy-secret' };
const BASIC = `Basic ${Buffer.from(`${AUTH.username}:${AUTH.password}`).toString('base64')}`;

/** The target behind the proxies: answers every request with its path and the headers it saw. */
let target: ReturnType<typeof createServer>;
let targetPort: number;
const proxies: ForwardProxy[] = [];

beforeAll(async () => {
  target = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ path: req.url, headers: req.headers }));
  });
  await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', () => resolve()));
  targetPort = (target.address() as { port: number }).port;
});

afterAll(async () => {
  target.closeAllConnections();
  await new Promise((resolve) => target.close(resolve));
});

afterEach(async () => {
  await Promise.all(proxies.splice(0).map((p) => p.close()));
});

async function proxy(...args: Parameters<typeof startForwardProxy>): Promise<ForwardProxy> {
  const p = await startForwardProxy(...args);
  proxies.push(p);
  return p;
}

/** Sends CONNECT to the proxy; resolves with the status and, on 200, the tunnel socket. */
function sendConnect(
  port: number,
  authority: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; socket: Socket }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: 'CONNECT', path: authority, headers });
    req.once('connect', (res: IncomingMessage, socket: Socket) =>
      resolve({ status: res.statusCode ?? 0, socket }),
    );
    req.once('response', (res: IncomingMessage) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0, socket: res.socket });
    });
    req.once('error', reject);
    req.end();
  });
}

/** Reads exact byte counts off a socket, then the rest until it closes. */
class Wire {
  #buffer = Buffer.alloc(0);
  #closed = false;
  #waiters: Array<() => void> = [];

  constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.#buffer = Buffer.concat([this.#buffer, chunk]);
      this.#wake();
    });
    socket.on('close', () => {
      this.#closed = true;
      this.#wake();
    });
  }

  async read(size: number): Promise<Buffer> {
    while (this.#buffer.length < size) {
      if (this.#closed) throw new Error(`socket closed with ${this.#buffer.length} of ${size} bytes`);
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
    const out = this.#buffer.subarray(0, size);
    this.#buffer = this.#buffer.subarray(size);
    return out;
  }

  async rest(): Promise<string> {
    while (!this.#closed) await new Promise<void>((resolve) => this.#waiters.push(resolve));
    return this.#buffer.toString('utf8');
  }

  #wake(): void {
    for (const w of this.#waiters.splice(0)) w();
  }
}

async function openWire(port: number): Promise<Wire> {
  const socket = connect({ host: '127.0.0.1', port });
  await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  return new Wire(socket);
}

/** A plain HTTP/1.1 GET over an established tunnel; resolves with the raw response text. */
async function getThrough(wire: Wire, path: string): Promise<string> {
  wire.socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${targetPort}\r\nConnection: close\r\n\r\n`);
  return wire.rest();
}

function socksConnectRequest(addressType: number, address: Buffer, port: number, command = 0x01): Buffer {
  const portBytes = Buffer.alloc(2);
  portBytes.writeUInt16BE(port);
  return Buffer.concat([Buffer.from([0x05, command, 0x00, addressType]), address, portBytes]);
}

function socksLogin(username: string, password: string): Buffer {
  return Buffer.concat([
    Buffer.from([0x01, username.length]),
    Buffer.from(username),
    Buffer.from([password.length]),
    Buffer.from(password),
  ]);
}

describe('startForwardProxy, http', () => {
  it('when CONNECT carries the right credentials, then the tunnel reaches the target and is recorded', async () => {
    const p = await proxy({ kind: 'http', auth: AUTH });
    expect(p.url).toBe(`http://127.0.0.1:${p.port}`);
    const { status, socket } = await sendConnect(p.port, `127.0.0.1:${targetPort}`, {
      'proxy-authorization': BASIC,
    });
    expect(status).toBe(200);
    const response = await getThrough(new Wire(socket), '/tunnelled');
    expect(response).toMatch(/^HTTP\/1\.1 200/);
    expect(response).toContain('"path":"/tunnelled"');
    expect(p.connections.map((c) => c.target)).toEqual([`127.0.0.1:${targetPort}`]);
    expect(p.connections[0]?.at).toBeGreaterThan(0);
    expect(p.authFailures).toBe(0);
  });

  it('when CONNECT has no or wrong credentials, then it is answered 407 and counted, and nothing is tunnelled', async () => {
    const p = await proxy({ kind: 'http', auth: AUTH });
    expect((await sendConnect(p.port, `127.0.0.1:${targetPort}`)).status).toBe(407);
    const wrong = `Basic ${Buffer.from('tester:nope').toString('base64')}`;
    expect(
      (await sendConnect(p.port, `127.0.0.1:${targetPort}`, { 'proxy-authorization': wrong })).status,
    ).toBe(407);
    expect(p.authFailures).toBe(2);
    expect(p.connections).toEqual([]);
  });

  it('when CONNECT names a target outside loopback, then it is answered 403', async () => {
    const p = await proxy({ kind: 'http', hosts: { 'far.test': '192.0.2.1' } });
    expect((await sendConnect(p.port, `far.test:${targetPort}`)).status).toBe(403);
    expect((await sendConnect(p.port, 'not-an-authority')).status).toBe(400);
  });

  it('when a plain request has an absolute URI, then it is forwarded without the proxy headers', async () => {
    const p = await proxy({ kind: 'http', auth: AUTH, hosts: { 'named.test': '127.0.0.1' } });
    const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: p.port,
          path: `http://named.test:${targetPort}/forwarded?q=1`,
          headers: { host: `named.test:${targetPort}`, 'proxy-authorization': BASIC },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8').on('data', (c: string) => (text += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        },
      );
      req.once('error', reject);
      req.end();
    });
    expect(status).toBe(200);
    const seen = JSON.parse(body) as { path: string; headers: Record<string, string> };
    expect(seen.path).toBe('/forwarded?q=1');
    expect(seen.headers.host).toBe(`named.test:${targetPort}`);
    expect(seen.headers['proxy-authorization']).toBeUndefined();
    expect(p.connections.map((c) => c.target)).toEqual([`named.test:${targetPort}`]);
  });

  it('when a plain request has no credentials, then it is answered 407', async () => {
    const p = await proxy({ kind: 'http', auth: AUTH });
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port: p.port, path: `http://127.0.0.1:${targetPort}/` },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.once('error', reject);
      req.end();
    });
    expect(status).toBe(407);
    expect(p.authFailures).toBe(1);
  });
});

describe('startForwardProxy, socks5', () => {
  it('when the client logs in and connects to a domain name, then the name is recorded and the tunnel works', async () => {
    const p = await proxy({ kind: 'socks5', auth: AUTH, hosts: { 'named.test': '127.0.0.1' } });
    expect(p.url).toBe(`socks5://127.0.0.1:${p.port}`);
    const wire = await openWire(p.port);
    wire.socket.write(Buffer.from([0x05, 0x02, 0x00, 0x02]));
    expect([...(await wire.read(2))]).toEqual([0x05, 0x02]);
    wire.socket.write(socksLogin(AUTH.username, AUTH.password));
    expect([...(await wire.read(2))]).toEqual([0x01, 0x00]);
    const name = Buffer.from('named.test');
    wire.socket.write(
      socksConnectRequest(0x03, Buffer.concat([Buffer.from([name.length]), name]), targetPort),
    );
    expect([...(await wire.read(10))].slice(0, 2)).toEqual([0x05, 0x00]);
    const response = await getThrough(wire, '/via-socks');
    expect(response).toContain('"path":"/via-socks"');
    expect(p.connections.map((c) => c.target)).toEqual([`named.test:${targetPort}`]);
  });

  it('when no credentials are needed and the client connects to an IPv4 address, then the tunnel works', async () => {
    const p = await proxy({ kind: 'socks5' });
    const wire = await openWire(p.port);
    wire.socket.write(Buffer.from([0x05, 0x01, 0x00]));
    expect([...(await wire.read(2))]).toEqual([0x05, 0x00]);
    wire.socket.write(socksConnectRequest(0x01, Buffer.from([127, 0, 0, 1]), targetPort));
    expect((await wire.read(10))[1]).toBe(0x00);
    expect(await getThrough(wire, '/ipv4')).toContain('"path":"/ipv4"');
    expect(p.connections.map((c) => c.target)).toEqual([`127.0.0.1:${targetPort}`]);
  });

  it('when the client connects to an IPv6 address, then it is parsed, recorded in brackets and answered', async () => {
    const p = await proxy({ kind: 'socks5' });
    const wire = await openWire(p.port);
    wire.socket.write(Buffer.from([0x05, 0x01, 0x00]));
    await wire.read(2);
    const loopback6 = Buffer.alloc(16);
    loopback6[15] = 1;
    // Port 9 (discard) has no listener on ::1 here, so the proxy answers 0x05 (connection refused).
    wire.socket.write(socksConnectRequest(0x04, loopback6, 9));
    expect((await wire.read(10))[1]).toBe(0x05);
    expect(p.connections.map((c) => c.target)).toEqual(['[::1]:9']);
  });

  it('when the password is wrong, then the login is refused and counted', async () => {
    const p = await proxy({ kind: 'socks5', auth: AUTH });
    const wire = await openWire(p.port);
    wire.socket.write(Buffer.from([0x05, 0x01, 0x02]));
    await wire.read(2);
    wire.socket.write(socksLogin(AUTH.username, 'nope'));
    expect([...(await wire.read(2))]).toEqual([0x01, 0x01]);
    await wire.rest();
    expect(p.authFailures).toBe(1);
    expect(p.connections).toEqual([]);
  });

  it('when credentials are needed and the client offers only no-auth, then no method is acceptable', async () => {
    const p = await proxy({ kind: 'socks5', auth: AUTH });
    const wire = await openWire(p.port);
    wire.socket.write(Buffer.from([0x05, 0x01, 0x00]));
    expect([...(await wire.read(2))]).toEqual([0x05, 0xff]);
    expect(p.authFailures).toBe(1);
  });

  it('when the command is not CONNECT or the target is outside loopback, then the matching reply code comes back', async () => {
    const p = await proxy({ kind: 'socks5', hosts: { 'far.test': '192.0.2.1' } });
    const bind = await openWire(p.port);
    bind.socket.write(Buffer.from([0x05, 0x01, 0x00]));
    await bind.read(2);
    bind.socket.write(socksConnectRequest(0x01, Buffer.from([127, 0, 0, 1]), targetPort, 0x02));
    expect((await bind.read(10))[1]).toBe(0x07);

    const far = await openWire(p.port);
    far.socket.write(Buffer.from([0x05, 0x01, 0x00]));
    await far.read(2);
    const name = Buffer.from('far.test');
    far.socket.write(socksConnectRequest(0x03, Buffer.concat([Buffer.from([name.length]), name]), 443));
    expect((await far.read(10))[1]).toBe(0x02);
  });
});
