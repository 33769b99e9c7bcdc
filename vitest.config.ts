import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Two cores: keep files from fighting over them (and over the native worker threads).
    fileParallelism: false,
    typecheck: { enabled: true, include: ['test/**/*.test-d.ts'] },
  },
});
