import { existsSync } from 'node:fs';
import type { StackOptions } from '@lockkeys/dev-stack';
import { ROOT_DIR } from './repo';
import { TestStack } from './stack';

// dev-stack's startStack, recorded instead of run (jest hoists the mock above the imports): what TestStack passes on.
const mockCalls: (StackOptions & { engine?: string })[] = [];
let mockFailure: Error | undefined;
jest.mock('@lockkeys/dev-stack', () => ({
  ...jest.requireActual('@lockkeys/dev-stack'),
  startStack: async (options: StackOptions) => {
    mockCalls.push(options);
    if (mockFailure) throw mockFailure;
    return {
      temporalAddress: '127.0.0.1:1',
      webUiUrl: 'http://127.0.0.1:2',
      simulatorUrl: 'http://127.0.0.1:3',
      gatewayUrl: 'http://127.0.0.1:4',
      services: {},
      start: async () => undefined,
      stop: async () => undefined,
    };
  },
}));

beforeEach(() => {
  mockCalls.length = 0;
});
afterEach(() => {
  mockFailure = undefined;
});

test('passes env (quiet by default), temporalArgs and engine on to startStack, in a scratch dir of its name', async () => {
  const stack = await TestStack.start({
    name: 'options',
    env: { KEY_COMMAND_GAP_MS: '0', LOG_LEVEL: 'info' },
    temporalArgs: ['--dynamic-config-value', 'x=1'],
    engine: 'postgres',
  });
  expect(mockCalls).toEqual([
    expect.objectContaining({
      rootDir: ROOT_DIR,
      dataDir: stack.dataDir,
      env: { LOG_LEVEL: 'info', RATE_LIMIT_PER_MINUTE: '100000', KEY_COMMAND_GAP_MS: '0' },
      temporalArgs: ['--dynamic-config-value', 'x=1'],
      engine: 'postgres',
      ports: stack.ports,
      enginePorts: stack.enginePorts,
    }),
  ]);
  // The engine's own ports are free ones too, never `npm run dev`'s 7234, 7432…: suites may run beside it.
  const every = [...Object.values(stack.enginePorts!), ...Object.values(stack.ports)];
  expect(new Set(every).size).toBe(every.length);
  expect(every).not.toContain(7234);
  expect(stack.dataDir).toMatch(/lockkeys-options-/);
  expect(stack.gateway.baseUrl).toBe('http://127.0.0.1:4');
  expect(stack.simulator.baseUrl).toBe('http://127.0.0.1:3');
  await stack.stop();
  expect(existsSync(stack.dataDir)).toBe(false);
});

test('no engine given: none passed, quiet and without a reachable rate limit; a stack that fails to start leaves no scratch dir', async () => {
  mockFailure = new Error('temporal was not ready');
  await expect(TestStack.start({ name: 'failing' })).rejects.toBe(mockFailure);
  expect(mockCalls[0]).not.toHaveProperty('engine');
  expect(mockCalls[0]).not.toHaveProperty('temporalArgs');
  expect(mockCalls[0]).not.toHaveProperty('enginePorts');
  expect(mockCalls[0]!.env).toEqual({ LOG_LEVEL: 'warn', RATE_LIMIT_PER_MINUTE: '100000' });
  expect(existsSync(mockCalls[0]!.dataDir)).toBe(false);
});

describe('forSuite', () => {
  const suite = TestStack.forSuite({ name: 'suite', env: { KEY_COMMAND_GAP_MS: '0' } });
  // Read while the file is collected, before beforeAll ran.
  const early = (() => {
    try {
      return suite.gateway;
    } catch (error) {
      return error;
    }
  })();

  test('started by the suite before its tests; used before that, it says so', () => {
    expect(early).toEqual(new Error('the TestStack is not started (yet, or it failed to start)'));
    expect(suite.env).toEqual({ LOG_LEVEL: 'warn', RATE_LIMIT_PER_MINUTE: '100000', KEY_COMMAND_GAP_MS: '0' });
    expect(suite.gateway.baseUrl).toBe('http://127.0.0.1:4');
    expect(suite.dataDir).toMatch(/lockkeys-suite-/);
    expect(existsSync(suite.dataDir)).toBe(true);
  });
});
