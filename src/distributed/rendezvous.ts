// Rendezvous: before any collective library is up, rank 0 hands one small
// secret (NCCL's 128-byte unique id) to every other rank over plain TCP.
//
// Frames, both directions: [u32 BE length][u8 type][body]; length counts type
// and body and is at most 64 KiB, so no peer can make us buffer more.
//   HELLO    client -> rank 0   'TRDZ', u16 version, u32 worldSize, u32 rank, sha256(jobKey) (32 bytes)
//   PAYLOAD  rank 0 -> client   the secret
//   ERROR    rank 0 -> client   utf-8 reason; rank 0 closes after it
//
// Rank 0 waits until each of ranks 1..N-1 has joined once, sends PAYLOAD to all
// and closes. Clients retry every 200 ms until rank 0 answers: it may start
// later. A different WORLD_SIZE or a rank joining twice means the launch is
// broken, so rank 0 fails and tells every client. A wrong magic, version or
// jobKey is more likely another program or job on the same port: only that
// client is turned away, and rank 0 keeps waiting. Everything ends by timeoutMs.
import { createHash } from 'node:crypto';
import net from 'node:net';
import { describeValue, rangeError, typeError } from '../errors.js';

export interface RendezvousOptions {
  rank: number;
  worldSize: number;
  masterAddr?: string; // rank 0's host; ranks > 0 connect to it
  masterPort?: number; // rank 0 listens on it, on every interface
  timeoutMs?: number;
  payload?: Uint8Array; // rank 0 only: what the others receive
  jobKey?: string; // the same on every rank of a job; tells apart jobs that share a port
}

export const RENDEZVOUS_MAX_FRAME = 64 * 1024;
const MAGIC = Buffer.from('TRDZ', 'latin1');
const VERSION = 1;
const HELLO = 1;
const PAYLOAD = 2;
const ERROR = 3;
const HELLO_BYTES = 4 + 2 + 4 + 4 + 32;
const RETRY_MS = 200;

interface Checked {
  rank: number;
  worldSize: number;
  masterAddr: string;
  masterPort: number;
  timeoutMs: number;
  payload: Uint8Array;
  keyHash: Buffer;
}

export async function rendezvous(options: RendezvousOptions): Promise<Uint8Array> {
  const o = check(options);
  if (o.worldSize === 1) return new Uint8Array(o.payload);
  return o.rank === 0 ? serve(o) : join(o);
}

function check(options: RendezvousOptions): Checked {
  if (typeof options !== 'object' || options === null) throw typeError('rendezvous', 'options', 'an object', describeValue(options));
  const { rank, worldSize, masterAddr, masterPort, timeoutMs = 300_000, payload, jobKey } = options;
  if (!Number.isInteger(worldSize) || worldSize < 1 || worldSize > 1 << 24) {
    throw rangeError('rendezvous', 'worldSize', 'an integer in [1, 16777216]', describeValue(worldSize));
  }
  if (!Number.isInteger(rank) || rank < 0 || rank >= worldSize) {
    throw rangeError('rendezvous', 'rank', `an integer in [0, worldSize=${worldSize})`, describeValue(rank));
  }
  // setTimeout fires at once past 2^31-1 ms
  if (typeof timeoutMs !== 'number' || !(timeoutMs > 0 && timeoutMs <= 2 ** 31 - 1)) {
    throw rangeError('rendezvous', 'timeoutMs', 'a number in (0, 2147483647]', describeValue(timeoutMs));
  }
  if (worldSize > 1 && (!Number.isInteger(masterPort) || masterPort! < 1 || masterPort! > 65535)) {
    throw rangeError('rendezvous', 'masterPort', 'an integer in [1, 65535]', describeValue(masterPort));
  }
  if (rank > 0 && (typeof masterAddr !== 'string' || masterAddr === '')) {
    throw typeError('rendezvous', 'masterAddr', "rank 0's host name or IP address", describeValue(masterAddr));
  }
  if (rank === 0 && !(payload instanceof Uint8Array)) {
    throw typeError('rendezvous', 'payload', 'a Uint8Array on rank 0', describeValue(payload));
  }
  if (rank > 0 && payload !== undefined) {
    throw typeError('rendezvous', 'payload', `undefined on rank ${rank} (only rank 0 sends one)`, describeValue(payload));
  }
  if (payload !== undefined && payload.length > RENDEZVOUS_MAX_FRAME - 1) {
    throw rangeError('rendezvous', 'payload', `at most ${RENDEZVOUS_MAX_FRAME - 1} bytes`, describeValue(payload));
  }
  if (jobKey !== undefined && typeof jobKey !== 'string') {
    throw typeError('rendezvous', 'jobKey', 'a string', describeValue(jobKey));
  }
  return {
    rank,
    worldSize,
    masterAddr: masterAddr ?? '',
    masterPort: masterPort ?? 0,
    timeoutMs,
    payload: payload ?? new Uint8Array(0),
    keyHash: createHash('sha256').update(jobKey ?? '').digest(),
  };
}

// ---- rank 0 ----

function serve(o: Checked): Promise<Uint8Array> {
  const n = o.worldSize;
  const port = o.masterPort;
  const prefix = `toroid.distributed: rendezvous on port ${port}`;
  return new Promise((resolve, reject) => {
    const joined = new Map<number, net.Socket>(); // rank -> its live connection
    const sockets = new Set<net.Socket>();
    const turnedAway: string[] = [];
    let done = false;

    const server = net.createServer((socket) => {
      if (done) return void socket.destroy();
      sockets.add(socket);
      socket.setNoDelay(true);
      const reader = new FrameReader();
      let rank = -1; // set once its hello is accepted
      socket.on('error', () => {}); // 'close' follows and does the bookkeeping
      socket.on('close', () => {
        sockets.delete(socket);
        if (joined.get(rank) === socket) joined.delete(rank);
      });
      socket.on('data', (chunk: Buffer) => {
        if (done) return;
        let frames: Frame[];
        try {
          frames = reader.push(chunk);
        } catch (err) {
          return turnAway(socket, rank, `a client sent ${(err as Error).message} (is another program using port ${port}?)`);
        }
        for (const f of frames) {
          if (rank !== -1 || f.type !== HELLO) return turnAway(socket, rank, `a client sent an unexpected frame of type ${f.type}`);
          const hello = readHello(f.body, o, n);
          if ('fatal' in hello) return fail(hello.fatal);
          if ('reject' in hello) return turnAway(socket, rank, hello.reject);
          // joined holds live connections only: a rank whose connection dropped may come back
          if (joined.has(hello.rank)) return fail(`rank ${hello.rank} joined twice`);
          rank = hello.rank;
          joined.set(rank, socket);
          if (joined.size === n - 1) return succeed();
        }
      });
    });

    const timer = setTimeout(() => {
      const missing = [];
      for (let r = 1; r < n; r++) if (!joined.has(r)) missing.push(r);
      const also = turnedAway.length === 0 ? '' : `; turned away: ${[...new Set(turnedAway)].slice(0, 3).join('; ')}`;
      fail(`only ${joined.size + 1} of ${n} ranks joined within ${o.timeoutMs / 1000} s (missing ranks: ${formatRanks(missing)})${also}`);
    }, o.timeoutMs);

    server.on('error', (err: NodeJS.ErrnoException) => {
      const hint = err.code === 'EADDRINUSE' ? ': another process uses it; pick another MASTER_PORT' : '';
      fail(`rank 0 cannot listen (${err.code ?? err.message}${hint})`);
    });
    // no host: '::' with IPv4 mapped in where the machine has IPv6, else '0.0.0.0'
    server.listen({ port });

    function turnAway(socket: net.Socket, rank: number, reason: string): void {
      if (turnedAway.length < 16) turnedAway.push(reason);
      if (joined.get(rank) === socket) joined.delete(rank);
      void sendAndClose(socket, frame(ERROR, Buffer.from(reason)));
    }

    function succeed(): void {
      const sent = [...joined.values()].map((s) => sendAndClose(s, frame(PAYLOAD, o.payload)));
      void cleanup(sent, 'rendezvous is over').then(() => resolve(new Uint8Array(o.payload)));
    }

    // Tells every connected client why, so they fail now rather than at their own timeout.
    function fail(reason: string): void {
      if (done) return;
      void cleanup([], reason).then(() => reject(new Error(`${prefix}: ${reason}`)));
    }

    // Settles once every socket, the server and the timer are gone, so nothing
    // keeps the event loop alive after the promise settles.
    async function cleanup(closing: Promise<void>[], reason: string): Promise<void> {
      done = true;
      clearTimeout(timer);
      for (const s of sockets) closing.push(sendAndClose(s, frame(ERROR, Buffer.from(reason))));
      await Promise.all([...closing, new Promise<void>((r) => server.close(() => r()))]);
    }
  });
}

type Hello = { rank: number } | { reject: string } | { fatal: string };

function readHello(body: Buffer, o: Checked, n: number): Hello {
  if (body.length < 6 || !body.subarray(0, 4).equals(MAGIC)) return { reject: 'a client sent something other than a toroid rendezvous hello' };
  const version = body.readUInt16BE(4);
  if (version !== VERSION) return { reject: `protocol version differs: rank 0 speaks ${VERSION}, a client speaks ${version} (mixed toroid versions?)` };
  if (body.length !== HELLO_BYTES) return { reject: `a client sent a hello of ${body.length} bytes, not ${HELLO_BYTES}` };
  const worldSize = body.readUInt32BE(6);
  const rank = body.readUInt32BE(10);
  // the job comes first: another job on this port must not break ours
  if (!body.subarray(14).equals(o.keyHash)) return { reject: `jobKey differs from rank 0's (is another job using port ${o.masterPort}?)` };
  if (worldSize !== n) return { fatal: `WORLD_SIZE differs: rank 0 has ${n}, rank ${rank} has ${worldSize}` };
  if (rank >= n) return { fatal: `rank ${rank} is out of range [0, WORLD_SIZE=${n})` };
  if (rank === 0) return { fatal: 'rank 0 joined twice' };
  return { rank };
}

// ---- ranks 1..N-1 ----

function join(o: Checked): Promise<Uint8Array> {
  const host = o.masterAddr;
  const port = o.masterPort;
  const where = `${net.isIPv6(host) ? `[${host}]` : host}:${port}`;
  const hello = Buffer.alloc(HELLO_BYTES);
  MAGIC.copy(hello, 0);
  hello.writeUInt16BE(VERSION, 4);
  hello.writeUInt32BE(o.worldSize, 6);
  hello.writeUInt32BE(o.rank, 10);
  o.keyHash.copy(hello, 14);

  return new Promise((resolve, reject) => {
    let socket: net.Socket | undefined;
    let retry: NodeJS.Timeout | undefined;
    let connected = false;
    let lastError = 'none';
    let done = false;

    const timer = setTimeout(() => {
      finish(
        new Error(
          connected
            ? `toroid.distributed: rendezvous: rank 0 at ${where} took rank ${o.rank} in but sent no id within ${o.timeoutMs / 1000} s (it waits for all ${o.worldSize} ranks)`
            : `toroid.distributed: rendezvous: could not reach rank 0 at ${where} within ${o.timeoutMs / 1000} s (last error: ${lastError})`,
        ),
      );
    }, o.timeoutMs);

    function finish(err: Error | null, payload?: Uint8Array): void {
      if (done) return;
      done = true;
      clearTimeout(timer);
      clearTimeout(retry);
      const s = socket;
      if (s === undefined || s.destroyed) return settle();
      s.once('close', settle);
      s.destroy();
      function settle(): void {
        if (err) reject(err);
        else resolve(payload!);
      }
    }

    function attempt(): void {
      connected = false;
      const s = net.connect({ host, port });
      socket = s;
      const reader = new FrameReader();
      s.setNoDelay(true);
      s.on('connect', () => {
        connected = true;
        s.write(frame(HELLO, hello));
      });
      s.on('error', (err: NodeJS.ErrnoException) => {
        lastError = err.code ?? err.message;
      });
      s.on('close', () => {
        if (done) return;
        // refused, reset or closed before the id came: rank 0 may not be up yet
        if (connected) lastError = 'rank 0 closed the connection before sending the id';
        retry = setTimeout(attempt, RETRY_MS);
      });
      s.on('data', (chunk: Buffer) => {
        let frames: Frame[];
        try {
          frames = reader.push(chunk);
        } catch (err) {
          const msg = `toroid.distributed: rendezvous: ${where} sent ${(err as Error).message}; is another program listening on port ${port}?`;
          return finish(new Error(msg));
        }
        for (const f of frames) {
          if (f.type === PAYLOAD) return finish(null, new Uint8Array(f.body));
          if (f.type === ERROR) return finish(new Error(`toroid.distributed: rendezvous with rank 0 at ${where} failed: ${f.body.toString('utf8')}`));
          return finish(new Error(`toroid.distributed: rendezvous: ${where} sent an unexpected frame of type ${f.type}`));
        }
      });
    }

    attempt();
  });
}

// ---- frames ----

interface Frame {
  type: number;
  body: Buffer;
}

function frame(type: number, body: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(5 + body.length);
  out.writeUInt32BE(1 + body.length, 0);
  out[4] = type;
  out.set(body, 5);
  return out;
}

// Cuts a byte stream into frames: TCP may split a frame across chunks or put
// several in one. The length is checked before anything is buffered for it.
export class FrameReader {
  private pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Frame[] {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const frames: Frame[] = [];
    while (this.pending.length >= 4) {
      const length = this.pending.readUInt32BE(0);
      if (length < 1 || length > RENDEZVOUS_MAX_FRAME) throw new Error(`a frame of ${length} bytes (must be 1 to ${RENDEZVOUS_MAX_FRAME})`);
      if (this.pending.length < 4 + length) break;
      frames.push({ type: this.pending[4]!, body: this.pending.subarray(5, 4 + length) });
      this.pending = this.pending.subarray(4 + length);
    }
    return frames;
  }
}

// end() sends the frame then FIN; destroy() once it is flushed, so a peer that
// never closes its side cannot hold the socket open. Resolves on 'close'.
function sendAndClose(socket: net.Socket, data: Buffer): Promise<void> {
  if (socket.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    socket.once('close', () => resolve());
    if (socket.writableEnded) return;
    socket.end(data, () => socket.destroy());
  });
}

// [1,2,3,7] -> "1-3, 7"; long lists are cut after 20 runs.
function formatRanks(ranks: number[]): string {
  const runs: string[] = [];
  for (let i = 0; i < ranks.length; ) {
    let j = i;
    while (j + 1 < ranks.length && ranks[j + 1] === ranks[j]! + 1) j++;
    runs.push(i === j ? `${ranks[i]}` : `${ranks[i]}-${ranks[j]}`);
    i = j + 1;
  }
  return runs.length > 20 ? `${runs.slice(0, 20).join(', ')}, ... (${ranks.length} in all)` : runs.join(', ');
}
