import {
  boolean,
  ConfigError,
  collectConfigErrors,
  decimal,
  type EnvVariable,
  integer,
  LOG_LEVELS,
  logLevel,
  oneOf,
  parseEnv,
  parseValue,
  problem,
  port,
  secret,
  text,
  url,
  variable,
} from './index';

/** The problems of `parseEnv({ [name]: variable }, env)`, asserting it threw a ConfigError. */
function problemsOf(run: () => unknown): readonly string[] {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error('did not throw');
}

const GAP = integer({ min: 0, max: 600_000, default: 1_000 });

describe('integer: plain decimal digits within bounds, empty = unset', () => {
  test.each<[string, string | undefined, number]>([
    ['unset', undefined, 1_000],
    ['empty', '', 1_000],
    ['zero', '0', 0],
    ['a value', '1500', 1_500],
    ['the maximum', '600000', 600_000],
    ['leading zeros are still decimal', '0042', 42],
  ])('%s → %p', (_name, text, expected) => {
    expect(parseEnv({ KEY_COMMAND_GAP_MS: GAP }, { KEY_COMMAND_GAP_MS: text }).KEY_COMMAND_GAP_MS).toBe(expected);
  });

  test.each([
    ['hex', '0x10'],
    ['exponent', '1e3'],
    ['leading space', ' 5'],
    ['trailing space', '5 '],
    ['negative', '-1'],
    ['plus sign', '+1'],
    ['fraction', '1.5'],
    ['trailing dot', '5.'],
    ['over range', '600001'],
    ['far over range', '99999999999999999999'],
    ['words', 'abc'],
    ['Infinity', 'Infinity'],
    ['underscore separators', '1_000'],
  ])('%s (%j) → one line naming the variable, with the value', (_name, text) => {
    expect(problemsOf(() => parseEnv({ KEY_COMMAND_GAP_MS: GAP }, { KEY_COMMAND_GAP_MS: text }))).toEqual([
      `KEY_COMMAND_GAP_MS must be a whole number from 0 to 600000 (got ${JSON.stringify(text)})`,
    ]);
  });

  test('under the minimum', () => {
    expect(problemsOf(() => parseEnv({ N: integer({ min: 1, max: 10 }) }, { N: '0' }))).toEqual([
      'N must be a whole number from 1 to 10 (got "0")',
    ]);
  });

  test('without a default, unset is undefined', () => {
    expect(parseEnv({ N: integer({ min: 1, max: 10 }) }, {}).N).toBeUndefined();
  });

  test('bad bounds are a programming error, caught when declared', () => {
    expect(() => integer({ min: 5, max: 1 })).toThrow(RangeError);
    expect(() => integer({ min: -1, max: 1 })).toThrow(RangeError);
  });

  test('port: 0 to 65535, or from a given minimum', () => {
    expect(parseEnv({ PORT: port({ default: 3000 }) }, { PORT: '0' }).PORT).toBe(0);
    expect(problemsOf(() => parseEnv({ PORT: port({ min: 1, default: 1 }) }, { PORT: '0' }))).toEqual([
      'PORT must be a whole number from 1 to 65535 (got "0")',
    ]);
    expect(problemsOf(() => parseEnv({ PORT: port() }, { PORT: '70000' }))).toEqual([
      'PORT must be a whole number from 0 to 65535 (got "70000")',
    ]);
  });
});

describe('decimal', () => {
  const RATE = decimal({ min: 0, max: 1, default: 0 });
  test.each<[string | undefined, number]>([
    [undefined, 0],
    ['', 0],
    ['0.25', 0.25],
    ['1', 1],
    ['1.0', 1],
  ])('%j → %p', (textValue, expected) => {
    expect(parseEnv({ RATE }, { RATE: textValue }).RATE).toBe(expected);
  });
  test.each(['1.5', '-0.1', '.5', '1e-1', 'NaN', ' 0.5', '0x1', '0,5'])('%j is refused', (textValue) => {
    expect(problemsOf(() => parseEnv({ RATE }, { RATE: textValue }))).toEqual([
      `RATE must be a decimal number from 0 to 1 (got ${JSON.stringify(textValue)})`,
    ]);
  });
});

describe('boolean: only true and false', () => {
  test.each<[string | undefined, boolean | undefined]>([
    [undefined, undefined],
    ['', undefined],
    ['true', true],
    ['false', false],
  ])('%j → %p', (textValue, expected) => {
    expect(parseEnv({ FLAG: boolean() }, { FLAG: textValue }).FLAG).toBe(expected);
  });
  test.each(['yes', '1', '0', 'TRUE', 'False', ' true'])('%j is refused', (textValue) => {
    expect(problemsOf(() => parseEnv({ FLAG: boolean({ default: false }) }, { FLAG: textValue }))).toEqual([
      `FLAG must be true or false (got ${JSON.stringify(textValue)})`,
    ]);
  });
});

describe('oneOf and LOG_LEVEL', () => {
  test('one list of log levels, default info, any case accepted', () => {
    expect(LOG_LEVELS).toEqual(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);
    expect(parseEnv({ LOG_LEVEL: logLevel() }, {}).LOG_LEVEL).toBe('info');
    expect(parseEnv({ LOG_LEVEL: logLevel() }, { LOG_LEVEL: 'DEBUG' }).LOG_LEVEL).toBe('debug');
    expect(problemsOf(() => parseEnv({ LOG_LEVEL: logLevel() }, { LOG_LEVEL: 'verbose' }))).toEqual([
      'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent (got "verbose")',
    ]);
  });
  test('case matters unless asked otherwise', () => {
    const algorithm = oneOf(['HS256', 'RS256'] as const);
    expect(parseEnv({ ALG: algorithm }, { ALG: 'RS256' }).ALG).toBe('RS256');
    expect(problemsOf(() => parseEnv({ ALG: algorithm }, { ALG: 'rs256' }))).toEqual([
      'ALG must be one of HS256, RS256 (got "rs256")',
    ]);
  });
});

describe('url', () => {
  const LOCK_BACKEND_URL = url({ default: 'http://127.0.0.1:3100' });
  test.each<[string | undefined, string]>([
    [undefined, 'http://127.0.0.1:3100'],
    ['', 'http://127.0.0.1:3100'],
    ['https://hub.example/api', 'https://hub.example/api'],
  ])('%j → %p (as written)', (textValue, expected) => {
    expect(parseEnv({ LOCK_BACKEND_URL }, { LOCK_BACKEND_URL: textValue }).LOCK_BACKEND_URL).toBe(expected);
  });
  test.each([
    ['not a URL', 'not a url', 'LOCK_BACKEND_URL must be an absolute http or https URL (got "not a url")'],
    ['relative', '/locks', 'LOCK_BACKEND_URL must be an absolute http or https URL (got "/locks")'],
    [
      'another scheme',
      'ftp://hub.example',
      'LOCK_BACKEND_URL must be an absolute http or https URL (got "ftp://hub.example")',
    ],
    ['credentials, never echoed', 'https://user:hunter2@hub.example', 'LOCK_BACKEND_URL must not contain credentials'],
  ])('%s is refused', (_name, textValue, line) => {
    expect(problemsOf(() => parseEnv({ LOCK_BACKEND_URL }, { LOCK_BACKEND_URL: textValue }))).toEqual([line]);
  });
  test('only the schemes asked for', () => {
    expect(problemsOf(() => parseEnv({ U: url({ protocols: ['https:'] }) }, { U: 'http://a.example' }))).toEqual([
      'U must be an absolute https URL (got "http://a.example")',
    ]);
  });
});

describe('text and secret', () => {
  test('text: length and shape', () => {
    const queue = text({
      default: 'lock-keys',
      maxLength: 10,
      pattern: { regex: /^[a-z-]+$/, description: 'lowercase' },
    });
    expect(parseEnv({ Q: queue }, { Q: '' }).Q).toBe('lock-keys');
    expect(problemsOf(() => parseEnv({ Q: queue }, { Q: 'Locks' }))).toEqual(['Q must be lowercase (got "Locks")']);
    expect(problemsOf(() => parseEnv({ Q: queue }, { Q: 'a'.repeat(11) }))).toEqual([
      'Q must be at most 10 characters',
    ]);
  });

  test.each([
    ['too short', 'short', 'TOKEN must be at least 8 characters'],
    ['too long', 'x'.repeat(65), 'TOKEN must be at most 64 characters'],
  ])('a secret %s: named, never echoed', (_name, value, line) => {
    const problems = problemsOf(() => parseEnv({ TOKEN: secret({ minLength: 8, maxLength: 64 }) }, { TOKEN: value }));
    expect(problems).toEqual([line]);
    expect(problems.join('\n')).not.toContain(value);
  });
});

describe('parseEnv', () => {
  const shape = {
    KEY_COMMAND_GAP_MS: GAP,
    PORT: port({ default: 3000 }),
    VERBOSE: boolean({ default: false }),
    LOG_LEVEL: logLevel(),
  };

  test('one line per bad variable, each naming it', () => {
    const error = (() => {
      try {
        parseEnv(shape, { KEY_COMMAND_GAP_MS: '0x10', PORT: 'http', VERBOSE: 'yes', LOG_LEVEL: 'info' });
      } catch (thrown) {
        return thrown as ConfigError;
      }
      throw new Error('did not throw');
    })();
    expect(error.problems).toEqual([
      'KEY_COMMAND_GAP_MS must be a whole number from 0 to 600000 (got "0x10")',
      'PORT must be a whole number from 0 to 65535 (got "http")',
      'VERBOSE must be true or false (got "yes")',
    ]);
    expect(error.message).toBe(error.problems.join('\n'));
    expect(error.name).toBe('ConfigError');
  });

  test('reads only the declared variables, and only from the object given', () => {
    const read: string[] = [];
    const env = new Proxy({ PORT: '8080', OTHER: 'x' } as Record<string, string | undefined>, {
      get: (target, name: string) => {
        read.push(name);
        return target[name];
      },
      ownKeys: () => {
        throw new Error('parseEnv must not enumerate the environment');
      },
    });
    expect(parseEnv(shape, env)).toEqual({ KEY_COMMAND_GAP_MS: 1000, PORT: 8080, VERBOSE: false, LOG_LEVEL: 'info' });
    expect(read.sort()).toEqual(['KEY_COMMAND_GAP_MS', 'LOG_LEVEL', 'PORT', 'VERBOSE']);
  });

  test('a value shown in a message is shortened and escaped', () => {
    expect(problemsOf(() => parseEnv({ N: GAP }, { N: `1\n${'9'.repeat(100)}` }))[0]).toMatch(
      /^N must be a whole number from 0 to 600000 \(got "1\\n9{78}…"\)$/,
    );
  });

  test('variable(): a check of its own', () => {
    const lockIds: EnvVariable<number[]> = variable(
      (value) => {
        const ids = value.split(',').map(Number);
        return ids.every((id) => Number.isInteger(id) && id > 0) ? ids : problem('must be lock ids');
      },
      { default: [] },
    );
    expect(parseEnv({ IDS: lockIds }, { IDS: '3,7' }).IDS).toEqual([3, 7]);
    expect(parseEnv({ IDS: lockIds }, {}).IDS).toEqual([]);
    expect(problemsOf(() => parseEnv({ IDS: lockIds }, { IDS: '1,two' }))).toEqual(['IDS must be lock ids']);
  });
});

describe('parseValue and collectConfigErrors', () => {
  test('parseValue checks one value under a name of its own (a command-line flag)', () => {
    expect(parseValue('--keys', integer({ min: 2, max: 200, default: 20 }), '50')).toBe(50);
    expect(parseValue('--keys', integer({ min: 2, max: 200, default: 20 }), undefined)).toBe(20);
    expect(problemsOf(() => parseValue('--keys', integer({ min: 2, max: 200 }), '1e2'))).toEqual([
      '--keys must be a whole number from 2 to 200 (got "1e2")',
    ]);
  });

  test('collectConfigErrors: every step runs, all problems are reported together, results keep their order', () => {
    const [a, b] = collectConfigErrors(
      () => parseEnv({ A: GAP }, { A: '5' }).A,
      () => 'two',
    );
    expect([a, b]).toEqual([5, 'two']);
    expect(
      problemsOf(() =>
        collectConfigErrors(
          () => parseEnv({ A: GAP }, { A: '-1' }),
          () => parseEnv({ B: boolean() }, { B: 'no' }),
        ),
      ),
    ).toEqual(['A must be a whole number from 0 to 600000 (got "-1")', 'B must be true or false (got "no")']);
    expect(() =>
      collectConfigErrors(
        () => 1,
        () => {
          throw new TypeError('a bug');
        },
      ),
    ).toThrow(TypeError);
  });
});
