import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { FrameReader, rendezvous, type RendezvousOptions } from '../../src/distributed/rendezvous.js';

const host = '127.0.0.1';

// Listen on port 0 the way rank 0 listens (every interface), note the port, close.
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen({ port: 0 }, resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

// Sockets, servers and timers alive now. A closed handle stays listed until
// libuv's close phase, one loop turn later.
async function handles(): Promise<string[]> {
  for (let i = 0; i < 2; i++) await new Promise((resolve) => setImmediate(resolve));
  return process.getActiveResourcesInfo().filter((t) => /^(TCP|Timeout)/.test(t));
}

// What is alive now and was not before: rendezvous must leave nothing behind.
// (Timers of the test runner may end meanwhile, so this is a multiset difference.)
async function leakedSince(before: string[]): Promise<string[]> {
  const left = [...before];
  return (await handles()).filter((t) => {
    const i = left.indexOf(t);
    if (i >= 0) left.splice(i, 1);
    return i < 0;
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function ranks(worldSize: number, port: number, extra: Partial<RendezvousOptions> = {}) {
  return (rank: number, more: Partial<RendezvousOptions> = {}) =>
    rendezvous({ rank, worldSize, masterAddr: host, masterPort: port, ...extra, ...more });
}

// A hand-made hello, as the header of rendezvous.ts lays it out.
function helloFrame(worldSize: number, rank: number, keyHash: Buffer): Buffer {
  const body = Buffer.alloc(46);
  body.write('TRDZ', 0, 'latin1');
  body.writeUInt16BE(1, 4);
  body.writeUInt32BE(worldSize, 6);
  body.writeUInt32BE(rank, 10);
  keyHash.copy(body, 14);
  const header = Buffer.alloc(5);
  header.writeUInt32BE(1 + body.length, 0);
  header[4] = 1;
  return Buffer.concat([header, body]);
}

// Connects a raw socket, writes the pieces 20 ms apart, returns the frames rank 0 sends back.
async function rawClient(port: number, pieces: Buffer[]): Promise<{ type: number; body: Buffer }[]> {
  const socket = net.connect({ host, port });
  const reader = new FrameReader();
  const frames: { type: number; body: Buffer }[] = [];
  socket.on('data', (chunk: Buffer) => frames.push(...reader.push(chunk)));
  const closed = new Promise((resolve) => socket.on('close', resolve));
  socket.on('error', () => {});
  await new Promise((resolve) => socket.once('connect', resolve));
  for (const piece of pieces) {
    socket.write(piece);
    await sleep(20);
  }
  await closed;
  return frames;
}

describe('rendezvous', { timeout: 10_000 }, () => {
  it('hands rank 0 payload to 3 other ranks and leaves no handle behind', async () => {
    const port = await freePort();
    const before = await handles();
    const payload = new Uint8Array(randomBytes(128));
    const join = ranks(4, port, { jobKey: 'job-1', timeoutMs: 5000 });
    const got = await Promise.all([join(0, { payload }), join(1), join(2), join(3)]);
    for (const p of got) expect(Buffer.from(p).equals(payload)).toBe(true);
    expect(got[1]).not.toBe(got[2]);
    expect(await leakedSince(before)).toEqual([]);
  });

  it('lets ranks start before rank 0: they retry until it listens', async () => {
    const port = await freePort();
    const payload = new Uint8Array([1, 2, 3]);
    const join = ranks(3, port, { timeoutMs: 5000 });
    const early = [join(1), join(2)];
    await sleep(500);
    const got = await Promise.all([join(0, { payload }), ...early]);
    expect(got.map((p) => [...p])).toEqual([[1, 2, 3], [1, 2, 3], [1, 2, 3]]);
  });

  it('times out on rank 0 naming the missing rank, and tells the ranks that joined', async () => {
    const port = await freePort();
    const before = await handles();
    const join = ranks(4, port);
    const t0 = Date.now();
    const results = await Promise.allSettled([
      join(0, { payload: new Uint8Array(128), timeoutMs: 1500 }),
      join(1, { timeoutMs: 5000 }),
      join(2, { timeoutMs: 5000 }),
    ]);
    expect(Date.now() - t0).toBeLessThan(3000);
    const reasons = results.map((r) => (r.status === 'rejected' ? (r.reason as Error).message : 'resolved'));
    expect(reasons[0]).toBe(`toroid.distributed: rendezvous on port ${port}: only 3 of 4 ranks joined within 1.5 s (missing ranks: 3)`);
    for (const r of reasons.slice(1)) {
      expect(r).toBe(`toroid.distributed: rendezvous with rank 0 at ${host}:${port} failed: only 3 of 4 ranks joined within 1.5 s (missing ranks: 3)`);
    }
    expect(await leakedSince(before)).toEqual([]);
  });

  it('times out on a client that cannot reach rank 0', async () => {
    const port = await freePort();
    const before = await handles();
    await expect(ranks(2, port)(1, { timeoutMs: 600 })).rejects.toThrow(
      `toroid.distributed: rendezvous: could not reach rank 0 at ${host}:${port} within 0.6 s (last error: ECONNREFUSED)`,
    );
    expect(await leakedSince(before)).toEqual([]);
  });

  it('fails every rank at once when a rank joins twice', async () => {
    const port = await freePort();
    const join = ranks(4, port, { timeoutMs: 5000 });
    const t0 = Date.now();
    const first = join(0, { payload: new Uint8Array(8) });
    const others = [join(1), join(3)];
    await sleep(300); // let the first rank 3 in before its twin
    const twin = join(3);
    const results = await Promise.allSettled([first, ...others, twin]);
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected', 'rejected']);
    expect((results[0] as PromiseRejectedResult).reason.message).toBe(`toroid.distributed: rendezvous on port ${port}: rank 3 joined twice`);
    for (const r of results.slice(1)) expect((r as PromiseRejectedResult).reason.message).toMatch(/failed: rank 3 joined twice$/);
  });

  it('fails every rank when WORLD_SIZE differs', async () => {
    const port = await freePort();
    const results = await Promise.allSettled([
      rendezvous({ rank: 0, worldSize: 4, masterPort: port, payload: new Uint8Array(8), timeoutMs: 5000 }),
      rendezvous({ rank: 2, worldSize: 8, masterAddr: host, masterPort: port, timeoutMs: 5000 }),
    ]);
    const messages = results.map((r) => (r.status === 'rejected' ? (r.reason as Error).message : 'resolved'));
    expect(messages[0]).toBe(`toroid.distributed: rendezvous on port ${port}: WORLD_SIZE differs: rank 0 has 4, rank 2 has 8`);
    expect(messages[1]).toBe(`toroid.distributed: rendezvous with rank 0 at ${host}:${port} failed: WORLD_SIZE differs: rank 0 has 4, rank 2 has 8`);
  });

  it('turns away a rank of another job (jobKey differs) and keeps waiting for its own', async () => {
    const port = await freePort();
    const join = ranks(3, port, { jobKey: 'job-a', timeoutMs: 5000 });
    const payload = new Uint8Array([9, 9]);
    const zero = join(0, { payload });
    const one = join(1);
    await expect(join(2, { jobKey: 'job-b' })).rejects.toThrow(
      `toroid.distributed: rendezvous with rank 0 at ${host}:${port} failed: jobKey differs from rank 0's (is another job using port ${port}?)`,
    );
    const got = await Promise.all([zero, one, join(2)]);
    expect(got.map((p) => [...p])).toEqual([[9, 9], [9, 9], [9, 9]]);
  });

  it('reassembles a hello split across TCP chunks, and turns away garbage without failing', async () => {
    const port = await freePort();
    const payload = new Uint8Array(randomBytes(128));
    const zero = rendezvous({ rank: 0, worldSize: 3, masterPort: port, payload, timeoutMs: 5000 });
    await sleep(100);
    // an HTTP request reads as a 1.2 GB frame length: refused before anything is buffered
    const http = await rawClient(port, [Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')]);
    expect(http).toHaveLength(1);
    expect(http[0]!.type).toBe(3);
    expect(http[0]!.body.toString()).toMatch(/^a client sent a frame of 1195725856 bytes \(must be 1 to 65536\)/);
    // the hash of the default jobKey '' is sha256 of nothing
    const hello = helloFrame(3, 1, createHash('sha256').digest());
    const raw = rawClient(port, [hello.subarray(0, 3), hello.subarray(3, 20), hello.subarray(20)]);
    const two = rendezvous({ rank: 2, worldSize: 3, masterAddr: host, masterPort: port, timeoutMs: 5000 });
    const [frames, p0, p2] = await Promise.all([raw, zero, two]);
    expect(frames).toHaveLength(1);
    expect(frames[0]!.type).toBe(2);
    expect(frames[0]!.body.equals(payload)).toBe(true);
    expect(Buffer.from(p0).equals(payload) && Buffer.from(p2).equals(payload)).toBe(true);
  });

  it('reports a port already in use on rank 0', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen({ port: 0 }, resolve));
    const { port } = blocker.address() as net.AddressInfo;
    try {
      await expect(rendezvous({ rank: 0, worldSize: 2, masterPort: port, payload: new Uint8Array(1) })).rejects.toThrow(
        `toroid.distributed: rendezvous on port ${port}: rank 0 cannot listen (EADDRINUSE: another process uses it; pick another MASTER_PORT)`,
      );
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  it('resolves at once for a single process, without a port', async () => {
    const before = await handles();
    const payload = new Uint8Array([7]);
    const got = await rendezvous({ rank: 0, worldSize: 1, payload });
    expect([...got]).toEqual([7]);
    expect(await leakedSince(before)).toEqual([]);
  });

  it('checks its arguments', async () => {
    await expect(rendezvous({ rank: 0, worldSize: 2, masterPort: 1234 })).rejects.toThrow(
      'toroid.rendezvous: payload must be a Uint8Array on rank 0, got undefined',
    );
    await expect(rendezvous({ rank: 2, worldSize: 2, masterAddr: host, masterPort: 1234 })).rejects.toThrow(
      'toroid.rendezvous: rank must be an integer in [0, worldSize=2), got number 2',
    );
    await expect(rendezvous({ rank: 1, worldSize: 2, masterAddr: host, masterPort: 70000 })).rejects.toThrow(RangeError);
    await expect(rendezvous({ rank: 1, worldSize: 2, masterPort: 1234 })).rejects.toThrow(
      "toroid.rendezvous: masterAddr must be rank 0's host name or IP address, got undefined",
    );
    await expect(rendezvous({ rank: 1, worldSize: 2, masterAddr: host, masterPort: 1234, payload: new Uint8Array(1) })).rejects.toThrow(TypeError);
    await expect(rendezvous({ rank: 0, worldSize: 2, masterPort: 1234, payload: new Uint8Array(65536) })).rejects.toThrow(
      'toroid.rendezvous: payload must be at most 65535 bytes, got Uint8Array(65536)',
    );
  });
});

describe('FrameReader', () => {
  it('yields frames split byte by byte or packed in one chunk, and refuses frames over 64 KiB', () => {
    const a = Buffer.from([0, 0, 0, 3, 2, 0xaa, 0xbb]);
    const b = Buffer.from([0, 0, 0, 1, 3]);
    const bytewise = new FrameReader();
    const out = [];
    for (const byte of Buffer.concat([a, b])) out.push(...bytewise.push(Buffer.from([byte])));
    expect(out.map((f) => [f.type, [...f.body]])).toEqual([[2, [0xaa, 0xbb]], [3, []]]);
    expect(new FrameReader().push(Buffer.concat([a, b, a.subarray(0, 2)])).map((f) => f.type)).toEqual([2, 3]);
    const big = Buffer.alloc(4);
    big.writeUInt32BE(65537, 0);
    expect(() => new FrameReader().push(big)).toThrow('a frame of 65537 bytes (must be 1 to 65536)');
    expect(() => new FrameReader().push(Buffer.alloc(4))).toThrow('a frame of 0 bytes');
  });
});
