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
      env: { LOG_LEVEL: 'info', KEY_COMMAND_GAP_MS: '0' },
      temporalArgs: ['--dynamic-config-value', 'x=1'],
      engine: 'postgres',
      ports: stack.ports,
    }),
  ]);
  expect(stack.dataDir).toMatch(/lockkeys-options-/);
  expect(stack.gateway.baseUrl).toBe('http://127.0.0.1:4');
  expect(stack.simulator.baseUrl).toBe('http://127.0.0.1:3');
  await stack.stop();
  expect(existsSync(stack.dataDir)).toBe(false);
});

test('no engine given: none passed, LOG_LEVEL=warn; a stack that fails to start leaves no scratch dir', async () => {
  mockFailure = new Error('temporal was not ready');
  await expect(TestStack.start({ name: 'failing' })).rejects.toBe(mockFailure);
  expect(mockCalls[0]).not.toHaveProperty('engine');
  expect(mockCalls[0]).not.toHaveProperty('temporalArgs');
  expect(mockCalls[0]!.env).toEqual({ LOG_LEVEL: 'warn' });
  expect(existsSync(mockCalls[0]!.dataDir)).toBe(false);
});
