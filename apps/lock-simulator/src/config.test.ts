import { DEV_LOCK_BACKEND_TOKEN } from '@lockkeys/contracts';
import { ConfigError, DEFAULT_CONFIG, loadConfigFromEnv, resolveConfig } from './config';

/** loadConfigFromEnv's problems, asserting a ConfigError. */
function problemsOf(env: Record<string, string>): readonly string[] {
  try {
    loadConfigFromEnv(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error('loadConfigFromEnv did not throw');
}

describe('loadConfigFromEnv', () => {
  it('uses the defaults when nothing is set, and treats empty variables as unset', () => {
    expect(loadConfigFromEnv({})).toEqual(DEFAULT_CONFIG);
    expect(loadConfigFromEnv({ LOCK_SIM_PORT: '', LOCK_SIM_SEED: '' })).toEqual(DEFAULT_CONFIG);
  });

  it('reads every variable', () => {
    const config = loadConfigFromEnv({
      LOCK_SIM_PORT: '0',
      LOCK_SIM_HOST: '0.0.0.0',
      LOCK_SIM_DB: ':memory:',
      LOCK_BACKEND_TOKEN: 's3cret',
      LOCK_SIM_LOCKS: '10',
      LOCK_SIM_SLOTS: '5',
      LOCK_SIM_MIN_GAP_MS: '250',
      LOCK_SIM_FAILURE_RATE: '0.25',
      LOCK_SIM_LATENCY_MS: '40',
      LOCK_SIM_SLOW_RATE: '0.5',
      LOCK_SIM_DROP_RATE: '1',
      LOCK_SIM_OFFLINE_LOCKS: '3, 7,',
      LOCK_SIM_SEED: 'repeat-me',
      LOG_LEVEL: 'DEBUG',
    });
    expect(config).toEqual({
      host: '0.0.0.0',
      port: 0,
      dbPath: ':memory:',
      token: 's3cret',
      lockCount: 10,
      slotCount: 5,
      minGapMs: 250,
      faults: { failureRate: 0.25, latencyMs: 40, slowRate: 0.5, dropRate: 1, offlineLocks: [3, 7], seed: 'repeat-me' },
      logLevel: 'debug',
    });
  });

  it.each([
    ['LOCK_SIM_PORT', 'abc'],
    ['LOCK_SIM_PORT', '70000'],
    ['LOCK_SIM_PORT', '-1'],
    ['LOCK_SIM_PORT', '80.5'],
    ['LOCK_SIM_LOCKS', '0'],
    ['LOCK_SIM_LOCKS', '1e3'],
    ['LOCK_SIM_SLOTS', '-5'],
    ['LOCK_SIM_MIN_GAP_MS', '0x10'],
    ['LOCK_SIM_FAILURE_RATE', 'abc'],
    ['LOCK_SIM_FAILURE_RATE', '1.5'],
    ['LOCK_SIM_FAILURE_RATE', '-0.1'],
    ['LOCK_SIM_SLOW_RATE', '2'],
    ['LOCK_SIM_DROP_RATE', 'NaN'],
    ['LOCK_SIM_LATENCY_MS', '-10'],
    ['LOCK_SIM_LATENCY_MS', '10ms'],
    ['LOCK_SIM_OFFLINE_LOCKS', '1,two'],
    ['LOCK_SIM_OFFLINE_LOCKS', '0'],
    ['LOG_LEVEL', 'loud'],
  ])('rejects %s=%j with a one-line message naming the variable', (variable, value) => {
    let thrown: unknown;
    try {
      loadConfigFromEnv({ [variable]: value });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    const message = (thrown as ConfigError).message;
    expect(message.startsWith(`${variable} `)).toBe(true);
    expect(message).toContain(JSON.stringify(value));
    expect(message).not.toContain('\n');
  });
});

describe('LOCK_SIM_MIN_GAP_MS is a plain decimal (the representative integer)', () => {
  it.each<[string, string, number | string]>([
    ['empty → the default', '', 1000],
    ['zero', '0', 0],
    ['hex', '0x10', 'LOCK_SIM_MIN_GAP_MS must be a whole number from 0 to 600000 (got "0x10")'],
    ['exponent', '1e3', 'LOCK_SIM_MIN_GAP_MS must be a whole number from 0 to 600000 (got "1e3")'],
    ['leading space', ' 5', 'LOCK_SIM_MIN_GAP_MS must be a whole number from 0 to 600000 (got " 5")'],
    ['negative', '-1', 'LOCK_SIM_MIN_GAP_MS must be a whole number from 0 to 600000 (got "-1")'],
    ['over range', '600001', 'LOCK_SIM_MIN_GAP_MS must be a whole number from 0 to 600000 (got "600001")'],
  ])('%s (%j)', (_name, value, expected) => {
    if (typeof expected === 'number') expect(loadConfigFromEnv({ LOCK_SIM_MIN_GAP_MS: value }).minGapMs).toBe(expected);
    else expect(problemsOf({ LOCK_SIM_MIN_GAP_MS: value })).toEqual([expected]);
  });

  it('several bad variables: one line each', () => {
    expect(problemsOf({ LOCK_SIM_PORT: 'x', LOCK_SIM_DROP_RATE: '2' })).toEqual([
      'LOCK_SIM_PORT must be a whole number from 0 to 65535 (got "x")',
      'LOCK_SIM_DROP_RATE must be a decimal number from 0 to 1 (got "2")',
    ]);
  });
});

describe('NODE_ENV=production', () => {
  it('requires a real LOCK_BACKEND_TOKEN', () => {
    expect(loadConfigFromEnv({ NODE_ENV: 'production', LOCK_BACKEND_TOKEN: 'a-real-token' }).token).toBe(
      'a-real-token',
    );
  });

  it.each([
    ['no token', { NODE_ENV: 'production' }, 'LOCK_BACKEND_TOKEN is required when NODE_ENV=production'],
    [
      'the dev token',
      { NODE_ENV: 'production', LOCK_BACKEND_TOKEN: DEV_LOCK_BACKEND_TOKEN },
      'LOCK_BACKEND_TOKEN must not be the built-in development token when NODE_ENV=production',
    ],
  ])('refuses %s', (_name, env, line) => {
    expect(problemsOf(env)).toEqual([line]);
  });

  it('outside production the dev token is the default', () => {
    expect(loadConfigFromEnv({ NODE_ENV: 'test' }).token).toBe(DEV_LOCK_BACKEND_TOKEN);
  });
});

it('loadConfigFromEnv(env) reads that object only, never process.env', () => {
  const poisoned = { LOCK_SIM_PORT: '0x10', NODE_ENV: 'production', LOG_LEVEL: 'loud' };
  const saved = Object.fromEntries(Object.keys(poisoned).map((name) => [name, process.env[name]]));
  Object.assign(process.env, poisoned);
  try {
    expect(loadConfigFromEnv({})).toEqual(DEFAULT_CONFIG);
  } finally {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
});

describe('resolveConfig', () => {
  it('fills options with defaults and accepts a numeric seed', () => {
    const config = resolveConfig({ port: 0, minGapMs: 5, faults: { failureRate: 1, seed: 42 } });
    expect(config).toMatchObject({ port: 0, minGapMs: 5, host: '127.0.0.1', lockCount: 100_000 });
    expect(config.faults).toEqual({ ...DEFAULT_CONFIG.faults, failureRate: 1, seed: '42' });
  });

  it.each([{ port: -1 }, { slotCount: 0 }, { faults: { dropRate: 2 } }, { faults: { offlineLocks: [0] } }])(
    'rejects %j',
    (options) => {
      expect(() => resolveConfig(options)).toThrow(ConfigError);
    },
  );
});
