import { ConfigError, DEFAULT_CONFIG, loadConfigFromEnv, resolveConfig } from './config';

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
