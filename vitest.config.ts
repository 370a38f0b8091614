import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['core/**/*.test.ts', 'serving/**/*.test.ts', 'jobs/**/*.test.ts', 'infra/**/*.test.ts', 'test/**/*.test.ts'],
    // onnxruntime-node and DuckDB are native addons: separate processes are safer than worker threads.
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 120_000,
    globalSetup: ['test/support/azuriteGlobalSetup.ts'],
  },
});
