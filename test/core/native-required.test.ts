// TOROID_REQUIRE_NATIVE=1 (.ci/run sets it): the native cpu addon must load. Without
// this, an addon that built but does not load (a missing symbol, a stale build) left
// toroid on the ts backend and every cpu suite skipped, and npm test passed.
import { expect, it } from 'vitest';
import { addon, loadError } from '../../src/backends/native/addon.js';
import * as toroid from '../../src/index.js';

it.runIf(process.env.TOROID_REQUIRE_NATIVE === '1' && process.env.TOROID_NATIVE !== '0')(
  'TOROID_REQUIRE_NATIVE=1: the cpu addon loads and the cpu backend is registered',
  () => {
    expect(loadError, 'why the addon did not load').toBeNull();
    expect(addon).not.toBeNull();
    expect(toroid.listBackends()).toContain('cpu');
  },
);
