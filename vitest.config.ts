import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'dashboard/test/**/*.test.ts'],
    // real libp2p nodes, child processes and network namespaces: generous timeouts, no retries that hide flakes
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // two cores: the integration files each start several nodes
    maxWorkers: 2,
    reporters: ['default'],
  },
})
