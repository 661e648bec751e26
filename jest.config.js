// Three projects: pure unit tests (no I/O), integration tests against the real
// stack (Kafka, schema registry, Redis), and cross-service end-to-end tests in tests/.
const transform = {
  '^.+\\.(t|j)sx?$': ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } }, module: { type: 'commonjs' } }],
};
const common = {
  transform,
  testEnvironment: 'node',
  moduleFileExtensions: ['ts', 'js', 'json'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
};
module.exports = {
  projects: [
    {
      ...common,
      displayName: 'unit',
      testMatch: ['<rootDir>/packages/*/src/**/*.test.ts', '<rootDir>/services/*/src/**/*.test.ts'],
      testPathIgnorePatterns: [...common.testPathIgnorePatterns, '\\.int\\.test\\.ts$', '\\.ctr\\.test\\.ts$'],
    },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/packages/*/src/**/*.int.test.ts', '<rootDir>/services/*/src/**/*.int.test.ts'],
      setupFilesAfterEnv: ['<rootDir>/scripts/jest/timeout-integration.js'],
      // On containers: a stack of each suite's own, of the parts its `@pfm-stack` pragma names,
      // on 4 CPUs or more; on fewer one per worker, emptied between files (PFM_SUITE_STACKS overrides).
      testEnvironment: '<rootDir>/scripts/jest/suite-stack-env.ts',
      testEnvironmentOptions: { stacks: 'auto' },
      globalSetup: '<rootDir>/scripts/jest/stack-setup.ts',
      globalTeardown: '<rootDir>/scripts/jest/stack-teardown.ts',
    },
    {
      ...common,
      displayName: 'e2e',
      testMatch: ['<rootDir>/tests/**/*.e2e.test.ts'],
      setupFilesAfterEnv: ['<rootDir>/scripts/jest/timeout-e2e.js'],
      // A stack of each suite's own on containers (scripts/jest/suite-stack-env.ts).
      testEnvironment: '<rootDir>/scripts/jest/suite-stack-env.ts',
      testEnvironmentOptions: { stacks: 'file' },
      globalSetup: '<rootDir>/scripts/jest/stack-setup.ts',
      globalTeardown: '<rootDir>/scripts/jest/stack-teardown.ts',
    },
    {
      // Suites on stacks of their own (testcontainers: Docker, or podman here): `./pfm test-containers`.
      ...common,
      displayName: 'containers',
      testMatch: ['<rootDir>/packages/*/src/**/*.ctr.test.ts', '<rootDir>/tests/**/*.ctr.test.ts'],
      setupFilesAfterEnv: ['<rootDir>/scripts/jest/timeout-e2e.js'],
    },
  ],
};
