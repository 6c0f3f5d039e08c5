#!/usr/bin/env node
// After prebuildify: ship the cuda addon (set aside by prebuild-cmake.mjs) as
// prebuilds/<platform>-<arch>/toroid_cuda.node, stripped. It links the CUDA
// runtime statically, so users need only the NVIDIA driver; without a GPU it is
// never used (src/backends/cuda/addon.ts). No nvcc at build time: nothing to ship.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const built = path.join(root, 'build', 'cuda', 'toroid_cuda.node');
if (!fs.existsSync(built)) {
  console.log('prebuild: no toroid_cuda.node was built (nvcc not found): the package ships the cpu backend only');
  process.exit(0);
}
const dest = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`, 'toroid_cuda.node');
fs.mkdirSync(path.dirname(dest), { recursive: true });
fs.copyFileSync(built, dest);
const strip = spawnSync('strip', ['--strip-all', dest], { stdio: 'inherit' });
if (strip.status !== 0) console.warn('prebuild: strip failed; shipping toroid_cuda.node unstripped');
console.log(`prebuild: ${path.relative(root, dest)} (${(fs.statSync(dest).size / 2 ** 20).toFixed(1)} MiB)`);
