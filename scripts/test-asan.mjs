#!/usr/bin/env node
// npm run test:asan [-- <vitest args>]: the whole vitest suite against the
// ASan+UBSan build of the cpu addon.
//
// 1. builds build-asan/Release/toroid.node (incremental; never touches build/Release):
//      cmake-js compile -O build-asan --CDTOROID_SANITIZE=ON --CDTOROID_CUDA=OFF
//    TOROID_ASAN_NO_BUILD=1 skips the build step (the addon must exist).
// 2. runs vitest (--pool=threads, see below) with TOROID_ADDON_DIR=build-asan/Release
//    (src/backends/native/addon.ts then loads that file or throws), TOROID_PREBUILD for
//    code that calls node-gyp-build itself, and gcc's libasan + libubsan in LD_PRELOAD
//    (node is not instrumented, so the runtimes must be first in the process). Left out:
//    EXCLUDED files and tests named SKIPPED_NAMES (timing/RSS assertions; reasons below).
// 3. runs the boundary fuzzer's 4 x 2500 seeded calls against the sanitized addon.
// 4. every sanitizer report of every process (vitest, the children the tests spawn)
//    goes to build-asan/logs/<run>/; the run fails when vitest or the fuzzer fails or
//    when any report is there. Leaks are matched against scripts/sanitizers/lsan.supp
//    (why each entry is not a toroid leak is written there).
//
// Options (why each):
//   ASan  halt_on_error=1        the first memory error ends the process (ASan's default, explicit)
//         detect_leaks=1         LeakSanitizer at each process's exit, with lsan.supp
//         allocator_may_return_null=1  malloc(huge) returns NULL as glibc does, so the addon's
//                                own out-of-memory path (a RangeError) runs, instead of ASan
//                                aborting on "allocation-size-too-big"
//         detect_stack_use_after_return=0  (default) node's stack walker and V8's
//                                frames do not expect fake stacks
//         handle_segv=0          V8 uses SIGSEGV itself (WebAssembly trap handler): ASan
//                                must not treat those as crashes
//   UBSan print_stacktrace=1, halt_on_error=1: and the addon is compiled with
//         -fno-sanitize-recover=undefined, so the first UB report aborts no matter what.
// Runs under `nice -n 19` with one vitest worker by default (a shared 2-core machine);
// TOROID_ASAN_WORKERS=<n> for more.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const buildDir = path.join(root, 'build-asan');
const addonDir = path.join(buildDir, 'Release');
const supp = path.join(root, 'scripts', 'sanitizers');

function gccFile(name) {
  const r = spawnSync('gcc', [`-print-file-name=${name}`], { encoding: 'utf8' });
  const file = r.status === 0 ? r.stdout.trim() : '';
  if (!file || !path.isAbsolute(file) || !existsSync(file)) {
    console.error(`test:asan: gcc does not know ${name} (install gcc and libasan/libubsan)`);
    process.exit(2);
  }
  return file;
}

const t0 = Date.now();
if (process.env.TOROID_ASAN_NO_BUILD !== '1') {
  const cmakeJs = path.join(root, 'node_modules', 'cmake-js', 'bin', 'cmake-js');
  const args = ['-n', '19', process.execPath, cmakeJs, 'compile', '-O', buildDir, '--CDTOROID_SANITIZE=ON', '--CDTOROID_CUDA=OFF',
    '-p', process.env.TOROID_ASAN_JOBS ?? '2', '--log-level', 'warn'];
  const build = spawnSync('nice', args, { cwd: root, stdio: 'inherit' });
  if (build.status !== 0) {
    console.error('test:asan: building build-asan failed');
    process.exit(build.status ?? 1);
  }
}
if (!existsSync(path.join(addonDir, 'toroid.node'))) {
  console.error(`test:asan: ${path.join(addonDir, 'toroid.node')} is missing`);
  process.exit(2);
}
const tBuilt = Date.now();

// node-gyp-build(packageRoot), which some tests and children call themselves (not through
// TOROID_ADDON_DIR), reads TOROID_PREBUILD=<dir> and then looks in <dir>/build/Release:
// point it at the sanitized addon too, so no process of the run loads build/Release.
const gypDir = path.join(buildDir, 'node-gyp-build');
if (!existsSync(path.join(gypDir, 'build', 'Release'))) {
  mkdirSync(path.join(gypDir, 'build'), { recursive: true });
  symlinkSync(path.join('..', '..', 'Release'), path.join(gypDir, 'build', 'Release'));
}

const logDir = path.join(buildDir, 'logs', new Date().toISOString().replace(/[:.]/g, '-'));
rmSync(logDir, { recursive: true, force: true });
mkdirSync(logDir, { recursive: true });

const asanOptions = [
  'halt_on_error=1',
  'detect_leaks=1',
  'allocator_may_return_null=1',
  'detect_stack_use_after_return=0',
  'handle_segv=0',
  'print_suppressions=0',
  `log_path=${path.join(logDir, 'asan')}`,
].join(':');
const env = {
  ...process.env,
  LD_PRELOAD: [gccFile('libasan.so'), gccFile('libubsan.so'), process.env.LD_PRELOAD].filter(Boolean).join(':'),
  TOROID_ADDON_DIR: addonDir,
  TOROID_PREBUILD: gypDir,
  // the 2.27 GiB checkpoint test is file I/O in TypeScript: npm test runs it; under ASan its
  // 464 MiB blocks and the quarantine would only add minutes and RSS
  TOROID_BIG_TESTS: '0',
  // every node process of the run (vitest, the children tests spawn) loads the addons once
  // on its main thread first: see scripts/sanitizers/keep-addon.mjs
  NODE_OPTIONS: [`--import=${JSON.stringify(pathToFileURL(path.join(supp, 'keep-addon.mjs')).href)}`, process.env.NODE_OPTIONS].filter(Boolean).join(' '),
  ASAN_OPTIONS: [asanOptions, process.env.ASAN_OPTIONS].filter(Boolean).join(':'),
  LSAN_OPTIONS: [`suppressions=${path.join(supp, 'lsan.supp')}`, 'print_suppressions=0', process.env.LSAN_OPTIONS].filter(Boolean).join(':'),
  UBSAN_OPTIONS: ['print_stacktrace=1', 'halt_on_error=1', `log_path=${path.join(logDir, 'ubsan')}`, process.env.UBSAN_OPTIONS]
    .filter(Boolean).join(':'),
};
const vitest = path.join(root, 'node_modules', 'vitest', 'vitest.mjs');
const workers = process.env.TOROID_ASAN_WORKERS ?? '1';
// --pool=threads: vitest stops forked workers with SIGTERM and SIGKILLs them 500 ms
// later, before a leak check (~2 s) could finish; in threads, every test file's
// leftovers are checked once, when vitest's own process exits (it also runs each
// worker thread's N-API finalizers on the way).
// Left out of the vitest run, each for a reason that is the sanitizers', not the code's:
const EXCLUDED = [
  // asserts event-loop delay percentiles (p99 < 50 ms) while training/decoding: the
  // sanitizers make every kernel 2-5x slower, so the numbers mean nothing here; the
  // same training and decoding paths run in test/train and test/decode.
  'test/hardening/event-loop.test.ts',
  // spawns its fuzzing children under `ulimit -v` (2 GiB): ASan reserves terabytes of
  // address space for its shadow at start-up and the child dies with SIGSEGV before
  // running anything. The same children (same seeds and counts) run below, without
  // the ulimit, with ASan's max_allocation_size_mb standing in for it.
  'test/hardening/fuzz-boundary.test.ts',
  // kills a saving child at random moments and requires >= 10 of the 50 kills to land
  // while a temp file is being written: a timing property, and the sanitized child's
  // start-up and writes move the kills out of the write windows. The atomic-write code
  // it exercises is TypeScript (no native code is under test there).
  'test/hardening/checkpoint-kill.test.ts',
];
const vitestArgs = process.argv.slice(2);
// Tests that assert RSS deltas: ASan keeps freed memory in its quarantine (256 MB) and
// maps shadow pages as the heap grows, so RSS says nothing about leaks here (LeakSanitizer
// does). Skipped by name unless a -t/--testNamePattern is given.
const SKIPPED_NAMES = 'RSS flat from step|a steady-state loop does not grow';
const hasNamePattern = vitestArgs.some((a) => a === '-t' || a.startsWith('--testNamePattern'));
const run = spawnSync('nice', ['-n', '19', process.execPath, vitest, 'run',
  '--pool=threads', `--maxWorkers=${workers}`, ...EXCLUDED.map((f) => `--exclude=${f}`),
  // the sanitized addon (-O1, every access checked) under nice runs the native paths 3-10x
  // slower: vitest's 5 s default timed out decode and trainer tests that pass otherwise
  '--testTimeout=120000', '--hookTimeout=120000', ...(hasNamePattern ? [] : [`--testNamePattern=^(?!.*(${SKIPPED_NAMES}))`]), ...vitestArgs], {
  cwd: root,
  env,
  stdio: 'inherit',
});
const tVitest = Date.now();

// The boundary fuzzer (test/hardening/fuzz/runner.ts: seeded random calls of every addon
// export with hostile arguments) against the sanitized addon: the seeds and call count of
// fuzz-boundary.test.ts, one child at a time. Skipped when vitest got arguments (a
// partial run) unless TOROID_ASAN_FUZZ=1; TOROID_ASAN_FUZZ=0 always skips it.
let fuzzFailed = 0;
const fuzzRunner = path.join(root, 'test', 'hardening', 'fuzz', 'runner.ts');
const fuzz = process.env.TOROID_ASAN_FUZZ ?? (vitestArgs.length === 0 ? '1' : '0');
if (fuzz === '1' && existsSync(fuzzRunner)) {
  const base = Number(process.env.FUZZ_SEED ?? 20_251_126);
  const runs = Math.ceil(Number(process.env.FUZZ_RUNS ?? 10_000) / 4);
  for (let i = 0; i < 4; i++) {
    const seed = base + i;
    const runChild = () => spawnSync('nice', ['-n', '19', process.execPath, '--disable-wasm-trap-handler', '--import', 'tsx', fuzzRunner], {
      cwd: root,
      encoding: 'utf8',
      timeout: 600_000,
      env: {
        ...env,
        ASAN_OPTIONS: `${env.ASAN_OPTIONS}:max_allocation_size_mb=2048`,
        OMP_NUM_THREADS: '1', FUZZ_SEED: String(seed), FUZZ_RUNS: String(runs), FUZZ_PATH: '',
      },
    });
    const resultLine = (c) => (c.stdout ?? '').split('\n').find((l) => l.startsWith('FUZZ_RESULT ')) ?? '';
    let child = runChild();
    let line = resultLine(child);
    // LeakSanitizer's own tracer sometimes crashes while it stops the exiting process's threads
    // ("Tracer caught signal 11 ... LeakSanitizer has encountered a fatal error"): no report,
    // the calls all passed, and the same seed passes again. That one case is run once more.
    let retried = '';
    if (child.status !== 0 && /"ok":true/.test(line) && lsanTracerFailed(child.pid)) {
      retried = ' (run twice: LeakSanitizer\'s tracer crashed at exit the first time)';
      child = runChild();
      line = resultLine(child);
    }
    const ok = child.status === 0 && /"ok":true/.test(line);
    if (!ok) fuzzFailed++;
    console.log(`test:asan: fuzz seed ${seed} (${runs} calls): ${ok ? 'ok' : `FAILED (exit ${child.status ?? child.signal})\n${line}\n${(child.stderr ?? '').slice(-2000)}`}${retried}`);
  }
}
const tDone = Date.now();

/** Whether process `pid`'s sanitizer log is LeakSanitizer failing in its own tracer (and nothing else). */
function lsanTracerFailed(pid) {
  const file = path.join(logDir, `asan.${pid}`);
  if (!existsSync(file)) return false;
  const text = readFileSync(file, 'utf8');
  return /Tracer caught signal/.test(text) && /LeakSanitizer has encountered a fatal error/.test(text) && !/ERROR: (Address|Leak)Sanitizer/.test(text);
}

const reports = readdirSync(logDir).map((f) => ({ file: path.join(logDir, f), text: readFileSync(path.join(logDir, f), 'utf8') }))
  .filter((r) => /ERROR: (Address|Leak)Sanitizer|runtime error:|ERROR: UndefinedBehaviorSanitizer/.test(r.text));
console.log(`\ntest:asan: build ${((tBuilt - t0) / 1000).toFixed(0)} s, vitest ${((tVitest - tBuilt) / 1000).toFixed(0)} s (exit ${run.status ?? run.signal}), fuzz ${((tDone - tVitest) / 1000).toFixed(0)} s (${fuzzFailed} failed)`);
if (reports.length > 0) {
  console.error(`test:asan: ${reports.length} process(es) wrote sanitizer reports (${logDir}):`);
  for (const r of reports) {
    const first = r.text.split('\n').find((l) => /ERROR:|runtime error:/.test(l)) ?? '';
    console.error(`  ${path.basename(r.file)}: ${first.trim()}`);
  }
  process.exit(1);
}
console.log(`test:asan: no sanitizer reports (logs: ${logDir})`);
process.exit(run.status === 0 && fuzzFailed === 0 ? 0 : 1);
