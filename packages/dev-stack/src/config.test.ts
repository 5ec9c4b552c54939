import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadTemporalConnection } from '@lockkeys/config';
import { loadDevConfig } from './config';
import { DEFAULT_PORTS } from './ports';
import { stackAppEnv, writeTemporalProfile } from './stack';

/** loadDevConfig's problems, asserting a ConfigError. */
function problemsOf(env: Record<string, string>): readonly string[] {
  try {
    loadDevConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error('loadDevConfig did not throw');
}

test('defaults: the SPEC ports, .data/ under the repository', () => {
  const config = loadDevConfig({});
  expect(config.ports).toEqual(DEFAULT_PORTS);
  expect(config.dataDir).toBe(join(config.rootDir, '.data'));
  expect(config).toMatchObject({ jwtSecret: undefined, apiKeysFile: undefined });
});

test('every variable moves its default', () => {
  const config = loadDevConfig({
    PORT: '4000',
    LOCK_SIM_PORT: '4100',
    TEMPORAL_PORT: '4233',
    TEMPORAL_UI_PORT: '4234',
    WORKER_HEALTH_PORT: '4465',
    WORKER_METRICS_PORT: '4464',
    LOCKKEYS_DATA_DIR: '/tmp/lockkeys-data',
    JWT_SECRET: 'my-secret',
    API_KEYS_FILE: '/etc/keys.json',
  });
  expect(config).toMatchObject({
    ports: {
      gateway: 4000,
      simulator: 4100,
      temporal: 4233,
      temporalUi: 4234,
      workerHealth: 4465,
      workerMetrics: 4464,
    },
    dataDir: '/tmp/lockkeys-data',
    jwtSecret: 'my-secret',
    apiKeysFile: '/etc/keys.json',
  });
});

describe('TEMPORAL_PORT is a plain decimal (the representative integer)', () => {
  test.each<[string, string, number | string]>([
    ['empty → the default', '', 7233],
    ['hex', '0x10', 'TEMPORAL_PORT must be a whole number from 1 to 65535 (got "0x10")'],
    ['exponent', '1e3', 'TEMPORAL_PORT must be a whole number from 1 to 65535 (got "1e3")'],
    ['leading space', ' 5', 'TEMPORAL_PORT must be a whole number from 1 to 65535 (got " 5")'],
    ['negative', '-1', 'TEMPORAL_PORT must be a whole number from 1 to 65535 (got "-1")'],
    ['zero (the stack needs a known port)', '0', 'TEMPORAL_PORT must be a whole number from 1 to 65535 (got "0")'],
    ['over range', '65536', 'TEMPORAL_PORT must be a whole number from 1 to 65535 (got "65536")'],
  ])('%s (%j)', (_name, value, expected) => {
    if (typeof expected === 'number') expect(loadDevConfig({ TEMPORAL_PORT: value }).ports.temporal).toBe(expected);
    else expect(problemsOf({ TEMPORAL_PORT: value })).toEqual([expected]);
  });

  test('several bad ports: one line each', () => {
    expect(problemsOf({ PORT: 'http', LOCK_SIM_PORT: '3100.0' })).toEqual([
      'PORT must be a whole number from 1 to 65535 (got "http")',
      'LOCK_SIM_PORT must be a whole number from 1 to 65535 (got "3100.0")',
    ]);
  });
});

test('loadDevConfig(env) reads that object only, never process.env', () => {
  const saved = process.env.TEMPORAL_PORT;
  process.env.TEMPORAL_PORT = '0x10';
  try {
    expect(loadDevConfig({}).ports.temporal).toBe(7233);
  } finally {
    if (saved === undefined) delete process.env.TEMPORAL_PORT;
    else process.env.TEMPORAL_PORT = saved;
  }
});

describe("the apps' environment talks to the stack's own Temporal server", () => {
  let dataDir: string;
  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'dev-stack-env-'));
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  test('a shell set up for another cluster does not leak in; our own variables pass through', () => {
    const temporalConfigFile = writeTemporalProfile(dataDir, '127.0.0.1:17233');
    const env = stackAppEnv(
      {
        PATH: '/usr/bin',
        TEMPORAL_ADDRESS: 'acme.a1b2c.tmprl.cloud:7233',
        TEMPORAL_NAMESPACE: 'acme.a1b2c',
        TEMPORAL_API_KEY: 'cloud-key',
        TEMPORAL_TLS_CLIENT_CERT_PATH: '/nonexistent/cert.pem',
        TEMPORAL_PROFILE: 'prod',
        TEMPORAL_GRPC_META_X_TENANT: 'acme',
        TEMPORAL_TASK_QUEUE: 'my-queue',
        KEY_COMMAND_GAP_MS: '1500',
      },
      { temporalConfigFile, simulatorUrl: 'http://127.0.0.1:13100', extra: { LOG_LEVEL: 'warn' } },
    );
    expect(env).toEqual({
      PATH: '/usr/bin',
      NODE_ENV: 'development',
      TEMPORAL_CONFIG_FILE: temporalConfigFile,
      LOCK_BACKEND_URL: 'http://127.0.0.1:13100',
      TEMPORAL_TASK_QUEUE: 'my-queue',
      KEY_COMMAND_GAP_MS: '1500',
      LOG_LEVEL: 'warn',
    });
    expect(loadTemporalConnection(env)).toEqual({
      connectionOptions: { address: '127.0.0.1:17233' },
      address: '127.0.0.1:17233',
      namespace: 'default',
      tls: false,
      auth: 'none',
      profile: { file: temporalConfigFile, name: 'default' },
    });
  });

  test('a test may still override them', () => {
    const env = stackAppEnv(
      { NODE_ENV: 'test' },
      { temporalConfigFile: '/x.toml', simulatorUrl: 'http://s', extra: { TEMPORAL_NAMESPACE: 'other' } },
    );
    expect(env).toMatchObject({ NODE_ENV: 'test', TEMPORAL_NAMESPACE: 'other' });
  });
});
