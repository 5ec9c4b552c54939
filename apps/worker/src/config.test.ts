import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEV_LOCK_BACKEND_TOKEN } from '@lockkeys/contracts';
import { ConfigError, loadConfig, loadReplayConfig } from './config';

let tempDir: string;
beforeAll(() => {
  tempDir = mkdtempSync(join(tmpdir(), 'worker-config-'));
});
afterAll(() => rmSync(tempDir, { recursive: true, force: true }));

/** loadConfig's problems, asserting a ConfigError whose lines are single lines. */
function problemsOf(env: NodeJS.ProcessEnv): readonly string[] {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    const { problems } = err as ConfigError;
    for (const line of problems) expect(line).not.toContain('\n');
    return problems;
  }
  throw new Error('loadConfig did not throw');
}

const SECRET = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
const PRODUCTION = { NODE_ENV: 'production', LOCK_BACKEND_TOKEN: 'a-real-token' };

test('defaults follow SPEC', () => {
  const config = loadConfig({});
  expect(config.temporal).toMatchObject({ address: '127.0.0.1:7233', namespace: 'default', taskQueue: 'lock-keys' });
  expect(config.temporal.connectionOptions).toEqual({ address: '127.0.0.1:7233' });
  expect(config.lockBackend).toEqual({
    baseUrl: 'http://127.0.0.1:3100',
    token: DEV_LOCK_BACKEND_TOKEN,
    requestTimeoutMs: 5_000,
  });
  expect(config.runSettings).toEqual({
    commandGapMs: 1_000,
    addKey: {
      activity: 'local',
      initialIntervalMs: 1_000,
      backoffCoefficient: 2,
      maximumIntervalMs: 30_000,
      maximumAttempts: 10,
      // One HTTP command plus a second of slack: the gap is a workflow timer, not part of the activity.
      startToCloseTimeoutMs: 6_000,
      scheduleToCloseTimeoutMs: 900_000,
    },
    maxKeysPerRun: 300,
    lockHolderCheckIntervalMs: 60_000,
    lockIdleMs: 60_000,
    lockStartMarginMs: 60_000,
    webhook: { retryWindowMs: 24 * 3_600_000, attemptTimeoutMs: 10_000, probeIntervalMs: 30_000 },
  });
  // Unset tuning means "the SDK's defaults": no option is passed at all.
  expect(config.workerTuning).toEqual({});
  expect(config.webhooks.size).toBe(0);
  expect(config).toMatchObject({
    isProduction: false,
    shutdownGraceMs: 30_000,
    health: { host: '127.0.0.1', port: 9465 },
    metrics: { host: '127.0.0.1', port: 9464 },
    logLevel: 'info',
  });
});

test('every variable overrides its default', () => {
  const config = loadConfig({
    TEMPORAL_ADDRESS: 'temporal:7233',
    TEMPORAL_NAMESPACE: 'prod',
    TEMPORAL_TASK_QUEUE: 'q',
    LOCK_BACKEND_URL: 'https://hub.example/api',
    LOCK_BACKEND_TOKEN: 'secret',
    LOCK_BACKEND_TIMEOUT_MS: '2000',
    KEY_COMMAND_GAP_MS: '1500',
    ADD_KEY_ACTIVITY: 'remote',
    ADD_KEY_INITIAL_RETRY_MS: '2000',
    ADD_KEY_BACKOFF_COEFFICIENT: '1.5',
    ADD_KEY_MAX_RETRY_MS: '60000',
    ADD_KEY_MAX_ATTEMPTS: '3',
    ADD_KEY_TIMEOUT_MS: '120000',
    WORKER_HEALTH_PORT: '0',
    WORKER_HEALTH_HOST: '0.0.0.0',
    WORKER_METRICS_PORT: '9999',
    WORKER_SHUTDOWN_GRACE_MS: '5000',
    KEYS_PER_WORKFLOW_RUN: '50',
    LOCK_HOLDER_CHECK_MS: '5000',
    LOCK_IDLE_MS: '7000',
    LOCK_START_MARGIN_MS: '2000',
    WEBHOOK_RETRY_HOURS: '2',
    WEBHOOK_TIMEOUT_MS: '3000',
    WEBHOOK_PROBE_MS: '5000',
    WORKER_MAX_CONCURRENT_ACTIVITIES: '50',
    WORKER_MAX_CONCURRENT_WORKFLOW_TASKS: '20',
    WORKER_MAX_CACHED_WORKFLOWS: '500',
    WORKER_WORKFLOW_TASK_POLLERS: '4',
    WORKER_ACTIVITY_TASK_POLLERS: '6',
    LOG_LEVEL: 'debug',
  });
  expect(config.temporal).toMatchObject({ address: 'temporal:7233', namespace: 'prod', taskQueue: 'q' });
  expect(config.lockBackend).toEqual({ baseUrl: 'https://hub.example/api', token: 'secret', requestTimeoutMs: 2_000 });
  expect(config.runSettings).toEqual({
    commandGapMs: 1_500,
    addKey: {
      activity: 'remote',
      initialIntervalMs: 2_000,
      backoffCoefficient: 1.5,
      maximumIntervalMs: 60_000,
      maximumAttempts: 3,
      startToCloseTimeoutMs: 3_000,
      scheduleToCloseTimeoutMs: 120_000,
    },
    maxKeysPerRun: 50,
    lockHolderCheckIntervalMs: 5_000,
    lockIdleMs: 7_000,
    lockStartMarginMs: 2_000,
    webhook: { retryWindowMs: 2 * 3_600_000, attemptTimeoutMs: 3_000, probeIntervalMs: 5_000 },
  });
  expect(config.workerTuning).toEqual({
    maxConcurrentActivityTaskExecutions: 50,
    maxConcurrentWorkflowTaskExecutions: 20,
    maxCachedWorkflows: 500,
    workflowTaskPollerBehavior: { type: 'simple-maximum', maximum: 4 },
    activityTaskPollerBehavior: { type: 'simple-maximum', maximum: 6 },
  });
  expect(config).toMatchObject({
    shutdownGraceMs: 5_000,
    health: { host: '0.0.0.0', port: 0 },
    metrics: { port: 9999 },
    logLevel: 'debug',
  });
  expect(loadConfig({ TEMPORAL_API_KEY: 'k', TEMPORAL_ADDRESS: 'ns.tmprl.cloud:7233' }).temporal).toMatchObject({
    tls: true,
    auth: 'API key',
    connectionOptions: { apiKey: 'k' },
  });
});

test('KEY_COMMAND_GAP_MARGIN_MS is gone: the gap is a workflow timer', () => {
  expect(loadConfig({ KEY_COMMAND_GAP_MARGIN_MS: '5' }).runSettings).not.toHaveProperty('commandGapMarginMs');
});

describe('KEY_COMMAND_GAP_MS is a plain decimal (the representative integer)', () => {
  test.each<[string, string, number | string]>([
    ['empty → the default 1000, never "no gap"', '', 1_000],
    ['zero outside production (tests)', '0', 0],
    ['hex', '0x10', 'KEY_COMMAND_GAP_MS must be a whole number from 0 to 600000 (got "0x10")'],
    ['exponent', '1e3', 'KEY_COMMAND_GAP_MS must be a whole number from 0 to 600000 (got "1e3")'],
    ['leading space', ' 5', 'KEY_COMMAND_GAP_MS must be a whole number from 0 to 600000 (got " 5")'],
    ['negative', '-1', 'KEY_COMMAND_GAP_MS must be a whole number from 0 to 600000 (got "-1")'],
    ['plus sign', '+1', 'KEY_COMMAND_GAP_MS must be a whole number from 0 to 600000 (got "+1")'],
    ['fraction', '1000.5', 'KEY_COMMAND_GAP_MS must be a whole number from 0 to 600000 (got "1000.5")'],
    ['over range', '600001', 'KEY_COMMAND_GAP_MS must be a whole number from 0 to 600000 (got "600001")'],
  ])('%s (%j)', (_name, value, expected) => {
    if (typeof expected === 'number') {
      expect(loadConfig({ KEY_COMMAND_GAP_MS: value }).runSettings.commandGapMs).toBe(expected);
    } else {
      expect(problemsOf({ KEY_COMMAND_GAP_MS: value })).toEqual([expected]);
    }
  });
});

test.each([
  ['KEY_COMMAND_GAP_MS', 'abc'],
  ['ADD_KEY_MAX_ATTEMPTS', '0'],
  ['KEYS_PER_WORKFLOW_RUN', '0'],
  ['ADD_KEY_ACTIVITY', 'sometimes'],
  ['ADD_KEY_BACKOFF_COEFFICIENT', '0.5'],
  ['ADD_KEY_BACKOFF_COEFFICIENT', '2e0'],
  ['LOCK_BACKEND_URL', 'not a url'],
  ['WORKER_HEALTH_PORT', '70000'],
  ['WORKER_METRICS_PORT', '0'],
  ['LOG_LEVEL', 'loud'],
  ['WEBHOOK_RETRY_HOURS', '0'],
  ['WEBHOOK_RETRY_HOURS', '721'],
  ['WEBHOOK_TIMEOUT_MS', '0x2710'],
  ['WORKER_MAX_CONCURRENT_ACTIVITIES', '0'],
  ['WORKER_MAX_CONCURRENT_WORKFLOW_TASKS', '1'],
  ['WORKER_WORKFLOW_TASK_POLLERS', '-1'],
  ['WORKER_ACTIVITY_TASK_POLLERS', '1e1'],
  ['WORKER_MAX_CACHED_WORKFLOWS', ' 5'],
  ['TEMPORAL_TLS_SERVER_CA_CERT_PATH', '/nonexistent/ca.pem'],
  ['TEMPORAL_TLS', 'yes'],
])('%s=%j is refused with one line naming it', (name, value) => {
  const problems = problemsOf({ [name]: value });
  expect(problems).toHaveLength(1);
  expect(problems[0]!.startsWith(`${name} `)).toBe(true);
});

test('several bad variables: one line each', () => {
  expect(problemsOf({ KEY_COMMAND_GAP_MS: '0x10', LOCK_BACKEND_TIMEOUT_MS: '', WEBHOOK_TIMEOUT_MS: '-5' })).toEqual([
    'KEY_COMMAND_GAP_MS must be a whole number from 0 to 600000 (got "0x10")',
    'WEBHOOK_TIMEOUT_MS must be a whole number from 100 to 120000 (got "-5")',
  ]);
});

test.each<[string, NodeJS.ProcessEnv, string]>([
  [
    'cache of one workflow',
    { WORKER_MAX_CACHED_WORKFLOWS: '1' },
    'WORKER_MAX_CACHED_WORKFLOWS must be 0 (no cache) or at least 2 (got "1")',
  ],
  [
    'more concurrent workflow tasks than cached workflows',
    { WORKER_MAX_CACHED_WORKFLOWS: '10', WORKER_MAX_CONCURRENT_WORKFLOW_TASKS: '20' },
    'WORKER_MAX_CONCURRENT_WORKFLOW_TASKS must not exceed WORKER_MAX_CACHED_WORKFLOWS (10) (got "20")',
  ],
  [
    'more workflow pollers than the SDK default of 40 slots',
    { WORKER_WORKFLOW_TASK_POLLERS: '41' },
    'WORKER_WORKFLOW_TASK_POLLERS must not exceed WORKER_MAX_CONCURRENT_WORKFLOW_TASKS (40) (got "41")',
  ],
  [
    'more activity pollers than activity slots',
    { WORKER_MAX_CONCURRENT_ACTIVITIES: '5', WORKER_ACTIVITY_TASK_POLLERS: '6' },
    'WORKER_ACTIVITY_TASK_POLLERS must not exceed WORKER_MAX_CONCURRENT_ACTIVITIES (5) (got "6")',
  ],
])('worker tuning the SDK would silently change: %s', (_name, env, line) => {
  expect(problemsOf(env)).toEqual([line]);
});

test('a cache of 0 (disabled) is allowed', () => {
  expect(loadConfig({ WORKER_MAX_CACHED_WORKFLOWS: '0' }).workerTuning).toEqual({ maxCachedWorkflows: 0 });
});

describe('NODE_ENV=production guards', () => {
  test('production with a real token and the default gap', () => {
    const config = loadConfig(PRODUCTION);
    expect(config.isProduction).toBe(true);
    expect(config.lockBackend.token).toBe('a-real-token');
    expect(config.runSettings.commandGapMs).toBe(1_000);
  });

  test.each<[string, NodeJS.ProcessEnv, string[]]>([
    ['no LOCK_BACKEND_TOKEN', { NODE_ENV: 'production' }, ['LOCK_BACKEND_TOKEN is required when NODE_ENV=production']],
    [
      'an empty LOCK_BACKEND_TOKEN',
      { NODE_ENV: 'production', LOCK_BACKEND_TOKEN: '' },
      ['LOCK_BACKEND_TOKEN is required when NODE_ENV=production'],
    ],
    [
      'the dev token',
      { NODE_ENV: 'production', LOCK_BACKEND_TOKEN: DEV_LOCK_BACKEND_TOKEN },
      ['LOCK_BACKEND_TOKEN must not be the built-in development token when NODE_ENV=production'],
    ],
    [
      'a gap below 1000',
      { ...PRODUCTION, KEY_COMMAND_GAP_MS: '999' },
      ['KEY_COMMAND_GAP_MS must be at least 1000 when NODE_ENV=production (got "999")'],
    ],
    [
      'no gap at all',
      { ...PRODUCTION, KEY_COMMAND_GAP_MS: '0' },
      ['KEY_COMMAND_GAP_MS must be at least 1000 when NODE_ENV=production (got "0")'],
    ],
    [
      'both at once',
      { NODE_ENV: 'production', KEY_COMMAND_GAP_MS: '10' },
      [
        'LOCK_BACKEND_TOKEN is required when NODE_ENV=production',
        'KEY_COMMAND_GAP_MS must be at least 1000 when NODE_ENV=production (got "10")',
      ],
    ],
  ])('%s → refused', (_name, env, lines) => {
    const problems = problemsOf(env);
    expect(problems).toEqual(lines);
    expect(problems.join('\n')).not.toContain(DEV_LOCK_BACKEND_TOKEN);
  });

  test('outside production the dev token and a short gap are fine (tests lower it)', () => {
    expect(loadConfig({ NODE_ENV: 'test', KEY_COMMAND_GAP_MS: '0' }).lockBackend.token).toBe(DEV_LOCK_BACKEND_TOKEN);
  });
});

describe('WEBHOOKS_FILE', () => {
  const write = (name: string, content: unknown) => {
    const path = join(tempDir, name);
    writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
    return path;
  };

  test('endpoints by organization', () => {
    const path = write('hooks.json', {
      webhooks: [
        { orgId: 'acme', url: 'https://hooks.example.com/lockkeys', secret: SECRET },
        { orgId: 'globex', url: 'http://127.0.0.1:9000/hook', secret: SECRET },
      ],
    });
    const { webhooks } = loadConfig({ WEBHOOKS_FILE: path });
    expect([...webhooks.entries()]).toEqual([
      ['acme', { url: 'https://hooks.example.com/lockkeys', secret: SECRET }],
      ['globex', { url: 'http://127.0.0.1:9000/hook', secret: SECRET }],
    ]);
  });

  test('production: https only, named by index and orgId', () => {
    const path = write('hooks-http.json', {
      webhooks: [{ orgId: 'globex', url: 'http://hooks.example', secret: SECRET }],
    });
    expect(problemsOf({ ...PRODUCTION, WEBHOOKS_FILE: path })).toEqual([
      `WEBHOOKS_FILE ${path}: webhooks[0] (orgId "globex"): url must be https when NODE_ENV=production`,
    ]);
  });

  test('a bad entry stops start-up with one line, never the secret', () => {
    const path = write('hooks-bad.json', {
      webhooks: [{ orgId: 'acme', url: 'https://h.example', secret: 'whsec_short' }],
    });
    const problems = problemsOf({ WEBHOOKS_FILE: path });
    expect(problems).toEqual([
      `WEBHOOKS_FILE ${path}: webhooks[0] (orgId "acme"): secret must be "whsec_" followed by the base64 of 24 to 64 bytes`,
    ]);
    expect(problems[0]).not.toContain('whsec_short');
  });

  test('a missing file', () => {
    const path = join(tempDir, 'nope.json');
    expect(problemsOf({ WEBHOOKS_FILE: path })).toEqual([`WEBHOOKS_FILE ${path}: cannot be read (ENOENT)`]);
  });
});

test('loadConfig(env) reads that object only, never process.env', () => {
  const poisoned = {
    KEY_COMMAND_GAP_MS: '0x10',
    NODE_ENV: 'production',
    WEBHOOKS_FILE: '/nonexistent/hooks.json',
    TEMPORAL_ADDRESS: 'not an address',
    WORKER_MAX_CACHED_WORKFLOWS: '1',
  };
  const saved = Object.fromEntries(Object.keys(poisoned).map((name) => [name, process.env[name]]));
  Object.assign(process.env, poisoned);
  try {
    const config = loadConfig({});
    expect(config).toMatchObject({ isProduction: false, runSettings: { commandGapMs: 1_000 }, workerTuning: {} });
    expect(config.temporal.address).toBe('127.0.0.1:7233');
    expect(loadReplayConfig({}).temporal.address).toBe('127.0.0.1:7233');
  } finally {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
});

test('loadReplayConfig: only the Temporal connection, so production worker settings are not needed', () => {
  expect(loadReplayConfig({ NODE_ENV: 'production', TEMPORAL_NAMESPACE: 'locks' }).temporal).toMatchObject({
    namespace: 'locks',
    address: '127.0.0.1:7233',
  });
  expect(() => loadReplayConfig({ TEMPORAL_ADDRESS: 'nope' })).toThrow(ConfigError);
});
