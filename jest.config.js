// One jest run over every package's tests. TypeScript is compiled by @swc/jest as ESM;
// workspace packages resolve to their sources so tests never need a prior build.
const swc = [
  '@swc/jest',
  {
    jsc: {
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: false },
      target: 'es2022',
    },
    module: { type: 'es6' },
  },
];

export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform: { '^.+\\.ts$': swc },
  moduleNameMapper: {
    '^@node-network/([a-z-]+)$': '<rootDir>/packages/$1/src/index.ts',
    '^@node-network/([a-z-]+)/compliance$': '<rootDir>/packages/$1/src/compliance/index.ts',
    '^@node-network/([a-z-]+)/(.*)$': '<rootDir>/packages/$1/src/$2.ts',
    '^node-network$': '<rootDir>/packages/node-network/src/index.ts',
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  roots: ['<rootDir>/packages', '<rootDir>/benches/peers'],
  testMatch: ['**/tests/**/*.test.ts'],
  testTimeout: 30000,
  verbose: false,
  // @matrixai/quic and @matrixai/rpc leave unref'd-less timers behind after stop; without this jest
  // waits about two minutes for them after the last test.
  forceExit: true,
};
