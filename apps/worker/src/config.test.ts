import { loadConfig } from './config';

test('defaults follow SPEC', () => {
  const config = loadConfig({});
  expect(config.temporal).toEqual({ address: '127.0.0.1:7233', namespace: 'default', taskQueue: 'lock-keys' });
  expect(config.lockBackend).toEqual({
    baseUrl: 'http://127.0.0.1:3100',
    token: 'dev-lock-token',
    requestTimeoutMs: 5_000,
  });
  expect(config.runSettings.commandGapMs).toBe(1_000);
  expect(config.runSettings.addKey).toMatchObject({
    initialIntervalMs: 1_000,
    backoffCoefficient: 2,
    maximumAttempts: 10,
  });
  // One attempt is bounded by the gap it may wait, the HTTP timeout, and slack for the worker.
  expect(config.runSettings.addKey.startToCloseTimeoutMs).toBe(7_000);
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
    ADD_KEY_INITIAL_RETRY_MS: '2000',
    ADD_KEY_BACKOFF_COEFFICIENT: '1.5',
    ADD_KEY_MAX_RETRY_MS: '60000',
    ADD_KEY_MAX_ATTEMPTS: '3',
    ADD_KEY_TIMEOUT_MS: '120000',
    WORKER_HEALTH_PORT: '0',
    KEYS_PER_WORKFLOW_RUN: '50',
    LOCK_HOLDER_CHECK_MS: '5000',
    LOCK_MUTEX_IDLE_MS: '7000',
  });
  expect(config.temporal).toEqual({ address: 'temporal:7233', namespace: 'prod', taskQueue: 'q' });
  expect(loadConfig({ TEMPORAL_API_KEY: 'k', TEMPORAL_ADDRESS: 'ns.tmprl.cloud:7233' }).temporal).toMatchObject({
    tls: {},
    apiKey: 'k',
  });
  expect(config.lockBackend).toEqual({ baseUrl: 'https://hub.example/api', token: 'secret', requestTimeoutMs: 2_000 });
  expect(config.runSettings).toEqual({
    commandGapMs: 1_500,
    commandGapMarginMs: 5,
    addKey: {
      initialIntervalMs: 2_000,
      backoffCoefficient: 1.5,
      maximumIntervalMs: 60_000,
      maximumAttempts: 3,
      startToCloseTimeoutMs: 4_500,
      scheduleToCloseTimeoutMs: 120_000,
    },
    maxKeysPerRun: 50,
    lockHolderCheckIntervalMs: 5_000,
    lockMutexIdleMs: 7_000,
  });
  expect(config.health.port).toBe(0);
});

test.each([
  ['KEY_COMMAND_GAP_MS', 'abc'],
  ['KEY_COMMAND_GAP_MS', '-1'],
  ['ADD_KEY_MAX_ATTEMPTS', '0'],
  ['KEYS_PER_WORKFLOW_RUN', '0'],
  ['ADD_KEY_BACKOFF_COEFFICIENT', '0.5'],
  ['LOCK_BACKEND_URL', 'not a url'],
  ['WORKER_HEALTH_PORT', '70000'],
  ['LOG_LEVEL', 'loud'],
  ['TEMPORAL_TLS_CERT', '/only-the-cert.pem'],
])('%s=%s is refused with a message naming it', (name, value) => {
  expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(`invalid worker configuration: .*${name}`));
});
