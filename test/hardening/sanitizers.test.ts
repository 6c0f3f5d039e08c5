// The sanitizers can see: each deliberate bug of the sanitizer build's probe
// (native/binding/sanitizer_probe.cc) runs in a child process under ASan + LSan with the
// suppressions `npm run test:asan` uses, and must be reported. Before, blocks came from
// a size-class cache ASan never saw (a one-element overrun landed in the class's slack,
// a block freed twice went into the cache twice) and lsan.supp suppressed every leak
// through new_storage. A storage still alive at exit must not be reported (a false report
// would teach people to suppress). Skipped until build-asan/ exists: `npm run test:asan`
// builds it and runs this file in its suite.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const addonDir = path.join(root, 'build-asan', 'Release');
const built = existsSync(path.join(addonDir, 'toroid.node'));

// gcc runs without the sanitizer runtime that npm run test:asan preloads into this process
// (gcc's own leaks would be reported into test:asan's log folder)
function gccFile(name: string): string {
  return spawnSync('gcc', [`-print-file-name=${name}`], { encoding: 'utf8', env: { PATH: process.env.PATH } }).stdout.trim();
}

function probe(kind: string): { status: number | null; output: string } {
  const r = spawnSync(process.execPath, ['--disable-wasm-trap-handler', path.join(root, 'test', 'hardening', 'sanitizers', 'probe-child.mjs'), kind], {
    encoding: 'utf8',
    timeout: 60_000,
    env: {
      PATH: process.env.PATH,
      LD_PRELOAD: `${gccFile('libasan.so')}:${gccFile('libubsan.so')}`,
      TOROID_ADDON_DIR: addonDir,
      // test:asan's options but reporting to stderr (its log folder would count these as failures)
      ASAN_OPTIONS: 'halt_on_error=1:detect_leaks=1:allocator_may_return_null=1:handle_segv=0',
      LSAN_OPTIONS: `suppressions=${path.join(root, 'scripts', 'sanitizers', 'lsan.supp')}:print_suppressions=0`,
    },
  });
  return { status: r.status, output: `${r.stdout}\n${r.stderr}` };
}

describe.skipIf(!built)('sanitizers see deliberate bugs (build-asan)', () => {
  it('a one-element overrun of a block: heap-buffer-overflow in the probe', () => {
    const r = probe('overrun');
    expect(r.output).toMatch(/ERROR: AddressSanitizer: heap-buffer-overflow/);
    expect(r.output).toMatch(/sanitizer_probe_js/);
    expect(r.status).not.toBe(0);
  });

  it('a block freed twice: double-free', () => {
    const r = probe('double-free');
    expect(r.output).toMatch(/ERROR: AddressSanitizer: attempting double-free/);
    expect(r.status).not.toBe(0);
  });

  it('a block memory that lost its pointer: a leak through new_storage, not suppressed', () => {
    const r = probe('lost-block');
    expect(r.output).toMatch(/ERROR: LeakSanitizer: detected memory leaks/);
    expect(r.output).toMatch(/new_storage/);
    expect(r.status).not.toBe(0);
  });

  it('a storage alive at exit: no report', () => {
    const r = probe('alive');
    expect(r.output).toMatch(/probe returned/);
    expect(r.output).not.toMatch(/ERROR: (Address|Leak)Sanitizer/);
    expect(r.status).toBe(0);
  });
});
