#!/usr/bin/env node
// npm install hook. Users of the published package get the prebuilt addon in
// prebuilds/ and compile nothing; in a clone (or on a platform without a
// prebuild) the addon is built from source with cmake-js. A failed build never
// fails the install: toroid then runs on its ts backend and says why.
// TOROID_REQUIRE_NATIVE=1 (CI) turns a failed build into a failed install.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const strict = process.env.TOROID_REQUIRE_NATIVE === '1';

function giveUp(reason) {
  const line = `toroid: ${reason}; toroid will run on its pure-TypeScript backend`;
  if (strict) {
    console.error(`${line} (TOROID_REQUIRE_NATIVE=1: failing the install)`);
    process.exit(1);
  }
  console.warn(line);
  process.exit(0);
}

if (process.env.TOROID_NATIVE === '0') process.exit(0);

const inClone = (() => {
  try {
    require.resolve('cmake-js/package.json', { paths: [root] });
    return true;
  } catch {
    return false;
  }
})();

// A clone always builds from source, so edits to native/ take effect.
if (!inClone) {
  try {
    require('node-gyp-build')(root);
    process.exit(0);
  } catch (err) {
    giveUp(`no prebuilt addon loads on ${process.platform}-${process.arch} (${String(err.message).split('\n')[0]}) and cmake-js is not installed to build one`);
  }
}

const cmakeJs = require.resolve('cmake-js/bin/cmake-js', { paths: [root] });
const build = spawnSync(process.execPath, [cmakeJs, 'compile', '--log-level', 'warn'], { cwd: root, stdio: 'inherit' });
if (build.status !== 0) giveUp('building the native addon from source failed (needs cmake, g++ and libblis-openmp-dev)');
