// Two groups, run one after the other: the unit suites (files in parallel, one per core),
// then the hardening suites one file at a time, because they measure event-loop delay,
// memory and crash behaviour that a neighbouring test file would disturb.
import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['test/**/*.test.ts'], exclude: [...configDefaults.exclude, 'test/hardening/**'], sequence: { groupOrder: 0 } },
      },
      {
        extends: true,
        test: { name: 'hardening', include: ['test/hardening/**/*.test.ts'], fileParallelism: false, sequence: { groupOrder: 1 } },
      },
    ],
  },
});
