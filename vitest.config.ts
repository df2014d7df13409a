import { defineConfig } from 'vitest/config'

/**
 * Three lanes, one run: `npm test` runs every project, `npm run test:unit` is the inner loop.
 * - unit: no sockets, no processes (test/unit-guard.ts fails a test that tries), so it stays fast
 * - integration: real brokers, sqlite, libp2p nodes on 127.0.0.1, child processes
 * - e2e: the CLI, the binary and the dashboard in a browser, as a person would use them
 * Every lane keeps the same timeouts and pool as before the split.
 */
export default defineConfig({
  test: {
    // real libp2p nodes, child processes and network namespaces: generous timeouts, no retries that hide flakes
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // two cores: the integration files each start several nodes
    maxWorkers: 2,
    reporters: ['default'],
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts', 'test/fuzz/**/*.test.ts', 'dashboard/test/**/*.test.ts'],
          setupFiles: ['test/unit-guard.ts'],
        },
      },
      { extends: true, test: { name: 'integration', include: ['test/integration/**/*.test.ts'] } },
      { extends: true, test: { name: 'e2e', include: ['test/e2e/**/*.test.ts'] } },
    ],
  },
})
