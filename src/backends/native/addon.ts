// Finds and loads the compiled addon (prebuilds/<platform>-<arch>/ first, then a
// source build in build/Release) through node-gyp-build. Never throws: when the
// addon is missing or refuses to load, toroid stays on the ts backend and says
// why in one line.
// One exception, for development: TOROID_ADDON_DIR=<dir> loads <dir>/toroid.node
// instead (e.g. the sanitizer build in build-asan/Release, npm run test:asan) and
// throws when it cannot, so a run meant to test that build never falls back.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { staleBuild, type Addon } from './exports.js';
import { notLoadable, packageRoot } from './platform.js';

export type { Addon } from './exports.js';

export let loadError: string | null = null;

function load(): Addon | null {
  loadError = notLoadable('TOROID_NATIVE', (platform) => `no native build for ${platform} yet`);
  if (loadError !== null) return null;
  // OpenMP workers spin after each parallel region (libgomp: up to ~300k spins). When
  // other processes share the cores, that spinning steals the time the busy thread
  // needs; a short spin keeps back-to-back kernels fast without burning a core.
  // Read by libgomp when the addon loads it; the user's own settings win.
  if (process.env.OMP_WAIT_POLICY === undefined && process.env.GOMP_SPINCOUNT === undefined) process.env.GOMP_SPINCOUNT = '20000';
  preferAvx512Blas();
  const dir = process.env.TOROID_ADDON_DIR;
  if (dir !== undefined && dir !== '') {
    const file = path.resolve(dir, 'toroid.node');
    let loaded: Addon;
    try {
      loaded = createRequire(import.meta.url)(file) as Addon;
    } catch (err) {
      throw new Error(`toroid: TOROID_ADDON_DIR=${dir}: cannot load ${file}: ${(err as Error).message}`, { cause: err });
    }
    const stale = staleBuild(loaded);
    if (stale !== null) throw new Error(`toroid: TOROID_ADDON_DIR=${dir}: ${file} ${stale}`);
    return loaded;
  }
  let loaded: Addon;
  try {
    const require = createRequire(import.meta.url);
    const nodeGypBuild = require('node-gyp-build') as (dir: string) => Addon;
    loaded = nodeGypBuild(packageRoot);
  } catch (err) {
    loadError = (err as Error).message.split('\n')[0] ?? String(err);
    return null;
  }
  loadError = staleBuild(loaded);
  return loadError === null ? loaded : null;
}

/**
 * OpenBLAS 0.3.21 (when the addon is built with TOROID_BLAS=openblas) detects
 * CPUs it does not know (this machine's AVX-512 CPU, family 6 model 207) as 'Prescott' and runs SSE3 kernels at a fifth of the speed. It reads
 * OPENBLAS_CORETYPE once, when the addon loads it, so where the CPU has the
 * AVX-512 subsets of SkylakeX and the user has not chosen, choose SkylakeX.
 * (BLIS, the default, is fixed the same way inside the addon: blas.cc.)
 */
function preferAvx512Blas(): void {
  if (process.env.OPENBLAS_CORETYPE !== undefined) return;
  try {
    const flags = new Set((readFileSync('/proc/cpuinfo', 'utf8').match(/^flags\s*:(.*)$/m)?.[1] ?? '').trim().split(/\s+/));
    if (['avx512f', 'avx512dq', 'avx512cd', 'avx512bw', 'avx512vl'].every((f) => flags.has(f))) process.env.OPENBLAS_CORETYPE = 'SkylakeX';
  } catch {
    // no /proc: keep the library's own detection
  }
}

export const addon: Addon | null = load();

if (addon === null && process.env.TOROID_NATIVE !== '0') {
  console.warn(`toroid: native cpu backend unavailable (${loadError}); using the ts backend`);
}
