import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/support/global-setup.ts"],
    setupFiles: ["local/polyfills.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Each file gets its own table in the one DynamoDB Local; two workers fit the 2-core machine.
    pool: "forks",
    maxWorkers: 2,
  },
});
