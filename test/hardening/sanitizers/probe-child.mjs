// One deliberate memory bug in the sanitizer build (native/binding/sanitizer_probe.cc),
// run by test/hardening/sanitizers.test.ts in a child process: node probe-child.mjs <kind>.
import path from 'node:path';

const addon = { exports: {} };
process.dlopen(addon, path.resolve(process.env.TOROID_ADDON_DIR, 'toroid.node'));
if (!addon.exports.memory().exactBlocks) throw new Error('the sanitizer build should allocate exact blocks');
// kept referenced until exit, as a tensor a program never disposes would be
globalThis.probeStorage = addon.exports.sanitizerProbe(process.argv[2]);
console.log('probe returned');
