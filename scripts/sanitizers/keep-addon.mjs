// Loaded first (NODE_OPTIONS=--import=...) into every node process of `npm run test:asan`:
// vitest's own process and the children that tests spawn.
//
// Node dlcloses an addon when the last thread that loaded it ends. toroid.node now
// pins itself (native/binding/addon.cc, pin_module), but a toroid_cuda.node built
// before that fix does not: a worker thread that loaded it unloads it on exit and its
// static state (the static libstdc++'s 72 KiB exception pool) is then reported as
// leaked by an "<unknown module>". Loading both addons here, on the main thread,
// keeps them mapped for the whole process and every report symbolized. (Once
// build/Release is rebuilt with the pin, this file only saves a few dlopen calls.)
// Does nothing where toroid would not load them (TOROID_NATIVE=0, TOROID_CUDA=0).
import { existsSync } from 'node:fs';
import { constants } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMainThread } from 'node:worker_threads';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const dir = process.env.TOROID_ADDON_DIR;
if (isMainThread && dir && process.env.TOROID_NATIVE !== '0') {
  process.dlopen({ exports: {} }, path.resolve(dir, 'toroid.node'), constants.dlopen.RTLD_NOW);
  // the cuda addon as src/backends/cuda/addon.ts finds it (it is not sanitized)
  const cuda = [path.join(root, 'prebuilds', `${process.platform}-${process.arch}`, 'toroid_cuda.node'), path.join(root, 'build', 'Release', 'toroid_cuda.node')]
    .find((f) => existsSync(f));
  if (cuda && process.env.TOROID_CUDA !== '0') {
    try {
      process.dlopen({ exports: {} }, cuda, constants.dlopen.RTLD_NOW);
    } catch {
      // the suite reports why the cuda backend is unavailable
    }
  }
}
