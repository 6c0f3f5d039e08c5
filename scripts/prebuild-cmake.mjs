#!/usr/bin/env node
// Stands in for node-gyp under prebuildify (`prebuildify --node-gyp <this>`):
// prebuildify calls it with node-gyp's arguments (rebuild --target=... --release),
// which we ignore, and then copies build/Release/*.node and any shared libraries
// there into prebuilds/<platform>-<arch>/. We put libgomp beside the addon (the
// addon's RUNPATH is $ORIGIN), so the prebuilt addon needs no system package.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const cmakeJs = require.resolve('cmake-js/bin/cmake-js', { paths: [root] });
const build = spawnSync(process.execPath, [cmakeJs, 'rebuild', '--log-level', 'warn'], { cwd: root, stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);

const gomp = fs.realpathSync(execFileSync('g++', ['-print-file-name=libgomp.so.1'], { encoding: 'utf8' }).trim());
fs.copyFileSync(gomp, path.join(root, 'build', 'Release', 'libgomp.so.1'));

// prebuildify ships the first *.node it finds in build/Release; the cuda addon is
// set aside for scripts/prebuild-cuda.mjs, which ships it beside the cpu one.
const cudaAddon = path.join(root, 'build', 'Release', 'toroid_cuda.node');
fs.rmSync(path.join(root, 'build', 'cuda'), { recursive: true, force: true });
if (fs.existsSync(cudaAddon)) {
  fs.mkdirSync(path.join(root, 'build', 'cuda'), { recursive: true });
  fs.renameSync(cudaAddon, path.join(root, 'build', 'cuda', 'toroid_cuda.node'));
}
