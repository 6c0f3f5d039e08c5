// One fuzzing child: FUZZ_RUNS seeded calls of the native cpu addon, checked
// by fast-check. Run by test/hardening/fuzz-boundary.test.ts under a memory
// limit; by hand (see the replay command at the top of that file):
//   FUZZ_SEED=123 FUZZ_PATH=42 node --disable-wasm-trap-handler --import tsx test/hardening/fuzz/runner.ts
// Env: FUZZ_SEED (int), FUZZ_RUNS (default 2500), FUZZ_PATH (replay one run),
// FUZZ_PROGRESS (file: "RUN <i> <plan>" before every call, "FAIL <i>" on the
// first failure, so the parent can name the run that crashed the process).
// Prints one JSON line starting with "FUZZ_RESULT " on stdout.
import { closeSync, openSync, writeSync } from 'node:fs';
import fc from 'fast-check';
import { addon } from '../../../src/backends/native/addon.js';
import { expectationOf } from './expect.js';
import { GENERATORS, planArb } from './generators.js';
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
const A = addon!;
A.setNumThreads(1);

// The first identifier of the argument a message names: "x.shape" -> x, "xs[0]" -> xs, "target values" -> target.
const ARG_MESSAGE = /^toroid\.[\w.]+: (.+?) must /;
const RESOURCE = /^toroid: out of (cpu )?memory/;

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
  if (RESOURCE.test(msg)) return;
  const m = ARG_MESSAGE.exec(msg);
  if (m === null) throw new Error(`${plan.fn} threw an error that names no argument: ${describe(e)}`);
  const first = m[1]!.split(/[.[ ,]/)[0]!;
  const names = new Set([...GENERATORS[plan.fn]!.argNames, 'arguments']);
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
      A.free(r);
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
const fns = Object.keys(GENERATORS).filter((k) => process.env.FUZZ_SKIP_MISSING !== '1' || typeof (A as unknown as Record<string, unknown>)[k] === 'function');
const property = fc.property(planArb(fns), (plan) => {
  index++;
  if (progress !== null) writeSync(progress, `RUN\t${index}\t${fc.stringify(plan)}\n`);
  if (verbose) process.stderr.write(`${index} ${fc.stringify(plan)}\n`);
  const fn = (A as unknown as Record<string, (...a: unknown[]) => unknown>)[plan.fn];
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
    if (plan.fn === 'setNumThreads') A.setNumThreads(1);
  }
  const st = (stats[plan.fn] ??= [0, 0]);
  st[threw ? 1 : 0]++;
  if (countMessages && threw) {
    const key = `${plan.fn}: ${thrown instanceof Error ? thrown.message.replace(/got .*/, '').slice(0, 90) : 'non-Error'}`;
    messages[key] = (messages[key] ?? 0) + 1;
  }
  try {
    const expected = expectationOf(plan, GENERATORS[plan.fn]!.argNames.length);
    if (expected.kind === 'ok') {
      if (threw && !(thrown instanceof Error && RESOURCE.test(thrown.message))) {
        throw new Error(`${plan.fn}: a valid call (the generator's unmutated base) threw: ${describe(thrown)}`);
      }
      if (!threw) validOk[plan.fn] = (validOk[plan.fn] ?? 0) + 1;
    } else if (expected.kind === 'throw') {
      mustThrowSeen[plan.fn] = (mustThrowSeen[plan.fn] ?? 0) + 1;
      if (!threw) throw new Error(`${plan.fn} returned although an argument is ${expected.why}`);
      const name = expected.arg === null ? undefined : GENERATORS[plan.fn]!.argNames[expected.arg];
      const msg = thrown instanceof Error ? thrown.message : '';
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
    mustThrowSeen,
  });
} else {
  done({ ok: true, seed, numRuns: out.numRuns, ms, stats, validOk, mustThrowSeen, ...(countMessages ? { messages } : {}) });
}
