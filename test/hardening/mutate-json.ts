// Seeded mutations of a valid JSON value for the loader fuzzers (issue 20): numbers made
// huge / negative / fractional / NaN / strings, fields removed, duplicated or given the
// wrong type, hostile keys ('__proto__', 'constructor'), and, on the text, truncation,
// byte flips and duplicated keys. Every mutation is replayable from the seed.
import { Rng } from '../helpers/random.js';

type Json = unknown;

const HOSTILE_VALUES: Json[] = [1e9, 1e300, -1, -1e9, 0, 0.5, -0, NaN, Infinity, -Infinity, '12', '', 'x', null, true, false, [], {}, [1, 2], { a: 1 }, 2 ** 53, 2 ** 31, 4294967296];
const HOSTILE_KEYS = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'prototype', 'valueOf'];

/** Every path to a value inside `v` (object keys and array indexes), the root included. */
function paths(v: Json, at: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(at);
  if (Array.isArray(v)) v.forEach((x, i) => paths(x, [...at, i], out));
  else if (v !== null && typeof v === 'object') for (const k of Object.keys(v)) paths((v as Record<string, Json>)[k], [...at, k], out);
  return out;
}

function clone(v: Json): Json {
  // structuredClone keeps '__proto__' own keys as data (JSON.parse made them so)
  return structuredClone(v);
}

function parentOf(root: Json, path: (string | number)[]): { parent: Record<string | number, Json> | Json[]; key: string | number } | null {
  if (path.length === 0) return null;
  let p: any = root;
  for (const k of path.slice(0, -1)) p = p[k];
  return { parent: p, key: path[path.length - 1]! };
}

function set(parent: any, key: string | number, value: Json): void {
  Object.defineProperty(parent, key, { value, enumerable: true, writable: true, configurable: true });
}

/** One structural mutation of (a copy of) `base`; `describe` says what was done. */
export function mutateValue(base: Json, rng: Rng): { value: Json; describe: string } {
  const root = { root: clone(base) } as Record<string, Json>;
  const all = paths(root.root).map((p) => ['root', ...p]);
  const path = all[rng.int(0, all.length - 1)]!;
  const { parent, key } = parentOf(root, path)!;
  const old = (parent as any)[key];
  const kind = rng.int(0, 6);
  let describe: string;
  if (kind === 0 || kind === 1) {
    const v = HOSTILE_VALUES[rng.int(0, HOSTILE_VALUES.length - 1)];
    set(parent, key, clone(v));
    describe = `${path.join('.')} = ${String(v)}`;
  } else if (kind === 2 && typeof old === 'number') {
    const v = [old * 1e6, -old, old + 0.5, old * 2 ** 30, Number.MAX_SAFE_INTEGER, String(old)][rng.int(0, 5)];
    set(parent, key, v);
    describe = `${path.join('.')} ${old} -> ${String(v)}`;
  } else if (kind === 3) {
    if (Array.isArray(parent)) parent.splice(key as number, 1);
    else delete (parent as Record<string, Json>)[key];
    describe = `${path.join('.')} removed`;
  } else if (kind === 4 && old !== null && typeof old === 'object' && !Array.isArray(old)) {
    const k = HOSTILE_KEYS[rng.int(0, HOSTILE_KEYS.length - 1)]!;
    set(old, k, clone(HOSTILE_VALUES[rng.int(0, HOSTILE_VALUES.length - 1)]));
    describe = `${path.join('.')}.${k} added`;
  } else if (kind === 5 && Array.isArray(old) && old.length > 0) {
    const i = rng.int(0, old.length - 1);
    old.splice(i, 0, clone(old[i]));
    if (rng.uniform() < 0.3) old.push(...old.slice(0, rng.int(1, old.length)));
    describe = `${path.join('.')}[${i}] duplicated`;
  } else {
    const v = typeof old === 'string' ? rng.int(0, 100) : typeof old === 'number' ? String(old) : typeof old === 'boolean' ? Number(old) : String(old);
    set(parent, key, v);
    describe = `${path.join('.')} retyped to ${typeof v}`;
  }
  return { value: root.root, describe };
}

/** One mutation of JSON text: truncated, a byte flipped, a key duplicated with another value, or a splice. */
export function mutateText(text: string, rng: Rng): { text: string; describe: string } {
  const kind = rng.int(0, 3);
  if (kind === 0) {
    const n = rng.int(0, text.length - 1);
    return { text: text.slice(0, n), describe: `truncated at ${n}` };
  }
  if (kind === 1) {
    const bytes = Buffer.from(text, 'utf8');
    const i = rng.int(0, bytes.length - 1);
    bytes[i] = bytes[i]! ^ (1 << rng.int(0, 7));
    return { text: bytes.toString('latin1'), describe: `bit flipped at ${i}` };
  }
  if (kind === 2) {
    // duplicate the first key of some object: JSON.parse keeps the last value
    const at = [...text.matchAll(/[{,]"([^"\\]*)":/g)];
    if (at.length > 0) {
      const m = at[rng.int(0, at.length - 1)]!;
      const dup = `"${m[1]}":${JSON.stringify(HOSTILE_VALUES[rng.int(0, HOSTILE_VALUES.length - 1)] ?? null)},`;
      const i = m.index! + 1;
      return { text: text.slice(0, i) + dup + text.slice(i), describe: `key ${m[1]} duplicated` };
    }
  }
  const a = rng.int(0, text.length - 1);
  const b = rng.int(0, text.length - 1);
  return { text: text.slice(0, a) + text.slice(b), describe: `spliced ${a}..${b}` };
}

/** A thrown value is a clear toroid error: TypeError/RangeError (or subclass) whose message is 'toroid.<fn>: <arg> must be ...'. */
export function isClearToroidError(err: unknown): boolean {
  if (!(err instanceof TypeError || err instanceof RangeError)) return false;
  return /^toroid\.[\w.]+: \S.* must .*, got /su.test(err.message);
}
