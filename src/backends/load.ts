// Registers every backend, as importing toroid does first: ts (the reference),
// then cpu and cuda where their addons load; then TOROID_BACKEND picks the default.
import './ts/index.js';
import './native/index.js';
import './cuda/index.js';
import { applyBackendFromEnv } from './registry.js';

applyBackendFromEnv();
