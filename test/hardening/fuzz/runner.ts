// One fuzzing child: FUZZ_RUNS seeded calls of the native cpu addon (or, with
// FUZZ_ADDON=cuda, of toroid_cuda.node, which must validate without a GPU), checked
// by fast-check. Run by test/hardening/fuzz-boundary.test.ts under a memory
// limit; by hand (see the replay command at the top of that file):
//   FUZZ_SEED=123 FUZZ_PATH=42 node --disable-wasm-trap-handler --import tsx test/hardening/fuzz/runner.ts
// Env: FUZZ_SEED (int), FUZZ_RUNS (default 2500), FUZZ_PATH (replay one run),
// FUZZ_PROGRESS (file: "RUN <i> <plan>" before every call, "FAIL <i>" on the
// first failure, so the parent can name the run that crashed the process).
// Prints one JSON line starting with "FUZZ_RESULT " on stdout.
import { closeSync, openSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import fc from 'fast-check';
import { cudaAddonFile } from '../../../src/backends/cuda/addon.js';
import { addon } from '../../../src/backends/native/addon.js';
import type { Addon } from '../../../src/backends/native/exports.js';
import { expectationOf, isBase, type Expectation } from './expect.js';
import { CUDA_GENERATORS, GENERATORS, generatorOf, planArb } from './generators.js';
import { materialize, SENTINEL, type Plan } from './plan.js';

const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
const numRuns = Number(process.env.FUZZ_RUNS ?? 2500);
const path = process.env.FUZZ_PATH || undefined;
const progress = process.env.FUZZ_PROGRESS ? openSync(process.env.FUZZ_PROGRESS, 'w') : null;
const verbose = process.env.FUZZ_VERBOSE === '1';

function done(result: Record<string, unknown>): never {
  if (progress !== null) closeSync(progress);
  writeSync(1, `FUZZ_RESULT ${JSON.stringify(result)}\n`);
  process.exit(0);
}

if (addon === null) done({ skipped: true });
// A makes the storages the calls get; T is called. In cuda mode without a GPU every storage is
// foreign to T (a cpu one) and the device refuses work: T must still check its arguments and
// never crash, and a valid call may only fail on the device or on the foreign storage.
const CUDA = process.env.FUZZ_ADDON === 'cuda';
const A = addon!;
const cudaFile = CUDA ? cudaAddonFile() : undefined;
if (CUDA && cudaFile === undefined) done({ skipped: true });
const T: Addon = CUDA ? (createRequire(import.meta.url)(cudaFile!) as Addon) : A;
A.setNumThreads(1);
T.setNumThreads(1);
// FUZZ_MPI=1 (under mpirun, every rank with the same seed, so they make the same calls): the
// collective is joined first, and the fuzzer calls only the collective exports past that point
const MPI = process.env.FUZZ_MPI === '1';
// names in argNames that errors use for state, not for a JS argument the export reads
const PSEUDO_ARGS = new Set(['collective', 'process', 'engine']);
const JOINED = new Set(['allReduceStart', 'broadcastStart', 'allReduceHost', 'collectiveBarrier']);
let worldSize = 1;
let reinit: string | undefined;
if (MPI) {
  const joined = (A as unknown as { distributedInit(r: number, w: number, id: null, t: number): { worldSize: number } })
    .distributedInit(Number(process.env.OMPI_COMM_WORLD_RANK), Number(process.env.OMPI_COMM_WORLD_SIZE), null, 30);
  worldSize = joined.worldSize;
  // joining again as another rank is refused (was: silently handed the first join's collective)
  try {
    (A as unknown as { distributedInit(r: number, w: number, id: null, t: number): unknown }).distributedInit((Number(process.env.OMPI_COMM_WORLD_RANK) + 1) % worldSize, worldSize, null, 30);
    reinit = 'returned';
  } catch (e) {
    reinit = `${(e as Error).constructor.name}: ${(e as Error).message}`;
  }
}

// The first identifier of the argument a message names: "x.shape" -> x, "xs[0]" -> xs, "target values" -> target.
const ARG_MESSAGE = /^toroid\.[\w.]+: (.+?) must /;
const RESOURCE = /^toroid: out of (cpu )?memory/;
// cuda mode: what a machine without a GPU (or NCCL) answers a call that passed its checks
const NO_DEVICE = /^toroid \(cuda\): |^toroid\.distributed \(nccl\): NCCL is not available/;
const FOREIGN = / must be a tensor on the cuda backend, got storage of another backend$|: data must be cuda storage, got another value/;
// the cuda addon has no bfloat16 yet: a valid call in it is refused by its dtype check
const NO_BF16 = /must be (a )?(float32, int32 or bool|Float32Array, Int32Array or Uint8Array)[^,]*, got (bfloat16|Uint16Array)/;

function describe(e: unknown): string {
  if (e instanceof Error) return `${e.constructor.name}: ${e.message}`;
  try {
    return `non-Error ${typeof e}: ${String(e)}`;
  } catch {
    return `non-Error ${typeof e}`;
  }
}

/** Throws (fails the property) when a thrown value breaks the boundary contract. */
function checkThrown(plan: Plan, userThrow: boolean, e: unknown): void {
  if (userThrow && e === SENTINEL) return; // a getter of ours threw it: passing it through is right
  if (!(e instanceof Error)) throw new Error(`${plan.fn} threw a non-Error: ${describe(e)}`);
  const msg = e.message;
  if (RESOURCE.test(msg) || (CUDA && NO_DEVICE.test(msg))) return;
  const m = ARG_MESSAGE.exec(msg);
  if (m === null) throw new Error(`${plan.fn} threw an error that names no argument: ${describe(e)}`);
  const first = m[1]!.split(/[.[ ,]/)[0]!;
  const names = new Set([...generatorOf(plan.fn).argNames, 'arguments']);
  if (!names.has(first)) throw new Error(`${plan.fn} threw an error naming "${first}", not one of its arguments (${[...names].join(', ')}): ${msg}`);
}

function freeResult(r: unknown): void {
  if (r === null || r === undefined || typeof r !== 'object' || ArrayBuffer.isView(r)) return;
  if (Array.isArray(r)) {
    for (const x of r) freeResult(x);
    return;
  }
  if (Object.getPrototypeOf(r) === null || Object.keys(r).length === 0) {
    try {
      T.free(r);
    } catch {
      // not a storage (memory()/info() objects)
    }
  }
}

// per export: [returned, threw]; valid calls that returned (the test wants a minimum per export); FUZZ_MESSAGES=1 also counts messages (to see what the fuzzer reaches)
const stats: Record<string, [number, number]> = {};
const validOk: Record<string, number> = {};
const mustThrowSeen: Record<string, number> = {};
const messages: Record<string, number> = {};
const countMessages = process.env.FUZZ_MESSAGES === '1';

let index = -1;
let failedAt = -1;
// FUZZ_SKIP_MISSING=1: fuzz only what this addon exports (an older build, e.g. PREBUILDS_ONLY=1)
const exported = (k: string): boolean => typeof (T as unknown as Record<string, unknown>)[k] === 'function';
const fns = MPI
  ? [...JOINED, 'collectiveWait', 'distributedInit', 'distributedUniqueId']
  : CUDA
    ? [...Object.keys(GENERATORS), ...Object.keys(CUDA_GENERATORS)].filter(exported)
    : Object.keys(GENERATORS).filter((k) => process.env.FUZZ_SKIP_MISSING !== '1' || exported(k));
// cuda mode: valid calls refused only by the device (none here) or a foreign storage, per export
const validRefused: Record<string, number> = {};
const property = fc.property(planArb(fns), (plan) => {
  index++;
  if (progress !== null) writeSync(progress, `RUN\t${index}\t${fc.stringify(plan)}\n`);
  if (verbose) process.stderr.write(`${index} ${fc.stringify(plan)}\n`);
  const fn = (T as unknown as Record<string, (...a: unknown[]) => unknown>)[plan.fn];
  if (typeof fn !== 'function') throw new Error(`the addon has no export ${plan.fn}`);
  const m = materialize(A, plan);
  let ret: unknown;
  let threw = false;
  let thrown: unknown;
  try {
    ret = fn(...m.args);
  } catch (e) {
    threw = true;
    thrown = e;
  } finally {
    freeResult(ret);
    m.cleanup();
    if (plan.fn === 'setNumThreads') T.setNumThreads(1);
  }
  const st = (stats[plan.fn] ??= [0, 0]);
  st[threw ? 1 : 0]++;
  if (countMessages && threw) {
    const key = `${plan.fn}: ${thrown instanceof Error ? thrown.message.replace(/got .*/, '').slice(0, 90) : 'non-Error'}`;
    messages[key] = (messages[key] ?? 0) + 1;
  }
  try {
    // a broadcast's base root may be past this job's ranks: then it must refuse, naming root
    const badRoot = MPI && plan.fn === 'broadcastStart' && isBase(plan) && Number((plan.args[1] as { v: unknown }).v) >= worldSize;
    const expected: Expectation = badRoot
      ? { kind: 'throw', why: 'a rank past the job', arg: 1, errorClass: 'RangeError' }
      : expectationOf(plan, generatorOf(plan.fn).argNames.filter((n) => !PSEUDO_ARGS.has(n)).length, MPI ? JOINED : new Set());
    const msg = thrown instanceof Error ? thrown.message : '';
    if (CUDA && expected.kind === 'ok' && threw && (NO_DEVICE.test(msg) || FOREIGN.test(msg) || NO_BF16.test(msg))) {
      validRefused[plan.fn] = (validRefused[plan.fn] ?? 0) + 1;
    } else if (CUDA && expected.kind === 'throw') {
      // the first tensor is foreign to T, so the error names that one, whichever is broken
      mustThrowSeen[plan.fn] = (mustThrowSeen[plan.fn] ?? 0) + 1;
      if (!threw) throw new Error(`${plan.fn} returned although an argument is ${expected.why}`);
    } else if (expected.kind === 'ok') {
      if (threw && !(thrown instanceof Error && RESOURCE.test(thrown.message))) {
        throw new Error(`${plan.fn}: a valid call (the generator's unmutated base) threw: ${describe(thrown)}`);
      }
      if (!threw) validOk[plan.fn] = (validOk[plan.fn] ?? 0) + 1;
    } else if (expected.kind === 'throw') {
      mustThrowSeen[plan.fn] = (mustThrowSeen[plan.fn] ?? 0) + 1;
      if (!threw) throw new Error(`${plan.fn} returned although an argument is ${expected.why}`);
      const name = expected.arg === null ? undefined : generatorOf(plan.fn).argNames[expected.arg];
      if (name !== undefined && !RESOURCE.test(msg) && thrown instanceof Error && thrown.constructor.name !== expected.errorClass) {
        throw new Error(`${plan.fn}: argument ${name} is ${expected.why}: expected a ${expected.errorClass}, got ${describe(thrown)}`);
      }
      if (name !== undefined && !RESOURCE.test(msg) && !new RegExp(`^toroid\\.[\\w.]+: ${name}\\b`).test(msg)) {
        throw new Error(`${plan.fn}: argument ${name} is ${expected.why} (the only one changed), but the error names another: ${describe(thrown)}`);
      }
    }
    if (threw) checkThrown(plan, m.userThrow, thrown);
  } catch (e) {
    if (failedAt < 0) {
      failedAt = index;
      if (progress !== null) writeSync(progress, `FAIL\t${index}\n`);
    }
    throw e;
  }
});

const params: fc.Parameters<[Plan]> = { seed, numRuns };
if (path !== undefined) params.path = path;
const started = Date.now();
const out = fc.check(property, params);
const ms = Date.now() - started;
if (out.failed) {
  done({
    ok: false,
    seed: out.seed,
    path: out.counterexamplePath,
    firstFailure: failedAt,
    numRuns: out.numRuns,
    numShrinks: out.numShrinks,
    counterexample: out.counterexample === null ? null : fc.stringify(out.counterexample[0]),
    error: out.errorInstance instanceof Error ? out.errorInstance.message : String(out.errorInstance),
    ms,
    stats,
    validOk,
    validRefused,
    mustThrowSeen,
  });
} else {
  done({ ok: true, seed, numRuns: out.numRuns, ms, stats, validOk, validRefused, mustThrowSeen, ...(reinit === undefined ? {} : { reinit }), ...(countMessages ? { messages } : {}) });
}
