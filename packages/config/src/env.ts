import { z } from 'zod';
import { ConfigError } from './errors';

/** An environment to read: `process.env`, or a plain object in tests. */
export type Env = Readonly<Record<string, string | undefined>>;

/**
 * One environment variable: its text in (`undefined` when unset or empty), a checked value out. Its problem
 * messages leave out the variable's name ({@link parseEnv} puts it in front) and echo the value only
 * when it is not secret.
 */
export type EnvVariable<T> = z.ZodType<T, string | undefined>;

/** Variables by name: what an app's `config.ts` declares. */
export type EnvShape = Record<string, EnvVariable<unknown>>;

/** The values of an {@link EnvShape}, by name. */
export type ParsedEnv<S extends EnvShape> = { [K in keyof S]: z.output<S[K]> };

/** Why a text was refused, without the variable's name: `must be true or false (got "yes")`. */
export class Problem {
  constructor(readonly message: string) {}
}

/** A {@link Problem}: what a check of {@link variable} returns for a text it refuses. */
export const problem = (message: string): Problem => new Problem(message);

/** The text as it may appear in a message: quoted, shortened, control characters escaped. */
export function quoted(text: string): string {
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text);
}

/**
 * A variable checked by `check`, which gets the non-empty text and returns the value or a {@link problem};
 * unset or empty takes `options.default`
 * (`undefined` when none). The building block of every other builder here.
 */
export function variable<T>(check: (text: string) => T | Problem, options: { default: T }): EnvVariable<T>;
export function variable<T>(
  check: (text: string) => T | Problem,
  options?: { default?: NoInfer<T> },
): EnvVariable<T | undefined>;
export function variable<T>(
  check: (text: string) => T | Problem,
  options: { default?: T } = {},
): EnvVariable<T | undefined> {
  return z
    .string()
    .optional()
    .transform((text, ctx) => {
      if (text === undefined || text === '') return options.default;
      const result = check(text);
      if (result instanceof Problem) {
        ctx.addIssue({ code: 'custom', message: result.message });
        return z.NEVER;
      }
      return result;
    });
}

/** Bounds of {@link integer}; both inclusive, both whole numbers from 0 to 2^53−1. */
export interface IntegerOptions {
  min: number;
  max: number;
  default?: number;
}

const DECIMAL_DIGITS = /^[0-9]{1,16}$/;

/**
 * A whole number written in plain decimal digits, from `min` to `max`. Hex (`0x10`), exponents (`1e3`),
 * spaces, signs, fractions and values out of range are refused:
 * `must be a whole number from 0 to 600000 (got "0x10")`.
 */
export function integer(options: IntegerOptions & { default: number }): EnvVariable<number>;
export function integer(options: IntegerOptions): EnvVariable<number | undefined>;
export function integer({ min, max, ...rest }: IntegerOptions): EnvVariable<number | undefined> {
  if (!Number.isSafeInteger(min) || !Number.isSafeInteger(max) || min < 0 || min > max) {
    throw new RangeError(`integer(): bad bounds ${min}..${max}`);
  }
  const refuse = (text: string) => problem(`must be a whole number from ${min} to ${max} (got ${quoted(text)})`);
  return variable((text) => {
    if (!DECIMAL_DIGITS.test(text)) return refuse(text);
    const value = Number(text);
    return value >= min && value <= max ? value : refuse(text);
  }, rest);
}

/** A TCP port, `min` (default 0: "any free port") to 65535. */
export function port(options: { default: number; min?: number }): EnvVariable<number>;
export function port(options?: { min?: number }): EnvVariable<number | undefined>;
export function port({ min = 0, ...rest }: { default?: number; min?: number } = {}): EnvVariable<number | undefined> {
  return integer({ min, max: 65535, ...rest });
}

const DECIMAL = /^[0-9]{1,16}(\.[0-9]{1,16})?$/;

/** A number in plain decimal notation (`0.25`, `2`), from `min` to `max`; no sign, exponent or hex. */
export function decimal(options: { min: number; max: number; default: number }): EnvVariable<number>;
export function decimal(options: { min: number; max: number }): EnvVariable<number | undefined>;
export function decimal({
  min,
  max,
  ...rest
}: {
  min: number;
  max: number;
  default?: number;
}): EnvVariable<number | undefined> {
  const refuse = (text: string) => problem(`must be a decimal number from ${min} to ${max} (got ${quoted(text)})`);
  return variable((text) => {
    if (!DECIMAL.test(text)) return refuse(text);
    const value = Number(text);
    return value >= min && value <= max ? value : refuse(text);
  }, rest);
}

/** `true` or `false`, exactly: `yes`, `1` or `TRUE` are refused rather than guessed. */
export function boolean(options: { default: boolean }): EnvVariable<boolean>;
export function boolean(options?: object): EnvVariable<boolean | undefined>;
export function boolean(options: { default?: boolean } = {}): EnvVariable<boolean | undefined> {
  return variable((text) => {
    if (text === 'true') return true;
    if (text === 'false') return false;
    return problem(`must be true or false (got ${quoted(text)})`);
  }, options);
}

/** Options of {@link oneOf}. */
export interface OneOfOptions<V extends string> {
  default?: V;
  /** Accept `DEBUG` for `debug`; the value comes back as listed. */
  ignoreCase?: boolean;
}

/** One of `values`: `must be one of a, b, c (got "x")`. */
export function oneOf<const V extends string>(
  values: readonly V[],
  options: OneOfOptions<NoInfer<V>> & { default: NoInfer<V> },
): EnvVariable<V>;
export function oneOf<const V extends string>(
  values: readonly V[],
  options?: OneOfOptions<V>,
): EnvVariable<V | undefined>;
export function oneOf<const V extends string>(
  values: readonly V[],
  { ignoreCase = false, ...rest }: OneOfOptions<V> = {},
): EnvVariable<V | undefined> {
  return variable((text) => {
    const found = values.find((value) => (ignoreCase ? value.toLowerCase() === text.toLowerCase() : value === text));
    return found !== undefined ? found : problem(`must be one of ${values.join(', ')} (got ${quoted(text)})`);
  }, rest);
}

/** The log levels every app accepts in `LOG_LEVEL` (pino's, plus `silent`). */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** A pino level accepted by `LOG_LEVEL`. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** `LOG_LEVEL`: one of {@link LOG_LEVELS}, any case, default `info`. */
export function logLevel(options: { default?: LogLevel } = {}): EnvVariable<LogLevel> {
  return oneOf(LOG_LEVELS, { ignoreCase: true, default: options.default ?? 'info' });
}

/** Options of {@link text}. */
export interface TextOptions {
  default?: string;
  /** Longest accepted value (default 4096 characters). */
  maxLength?: number;
  /** A shape the value must have, and how to say it: `{ regex: /^[a-z-]+$/, description: 'lowercase words' }`. */
  pattern?: { regex: RegExp; description: string };
}

/** Any text up to `maxLength` characters, optionally of a given shape. */
export function text(options: TextOptions & { default: string }): EnvVariable<string>;
export function text(options?: TextOptions): EnvVariable<string | undefined>;
export function text({ maxLength = 4096, pattern, ...rest }: TextOptions = {}): EnvVariable<string | undefined> {
  return variable((value) => {
    if (value.length > maxLength) return problem(`must be at most ${maxLength} characters`);
    if (pattern && !pattern.regex.test(value)) return problem(`must be ${pattern.description} (got ${quoted(value)})`);
    return value;
  }, rest);
}

/** A credential: checked for length only, and never echoed in a message. */
export function secret(options: { minLength?: number; maxLength?: number } = {}): EnvVariable<string | undefined> {
  const { minLength = 1, maxLength = 4096 } = options;
  return variable((value) => {
    if (value.length < minLength) return problem(`must be at least ${minLength} characters`);
    if (value.length > maxLength) return problem(`must be at most ${maxLength} characters`);
    return value;
  });
}

/** Options of {@link url}. */
export interface UrlOptions {
  default?: string;
  /** Accepted schemes (default `http:` and `https:`). */
  protocols?: readonly string[];
}

/**
 * An absolute URL with one of `protocols` and a host, without credentials in it (they belong in their
 * own secret variable). The text comes back as written.
 */
export function url(options: UrlOptions & { default: string }): EnvVariable<string>;
export function url(options?: UrlOptions): EnvVariable<string | undefined>;
export function url({ protocols = ['http:', 'https:'], ...rest }: UrlOptions = {}): EnvVariable<string | undefined> {
  const schemes = protocols.map((protocol) => protocol.replace(/:$/, '')).join(' or ');
  return variable((value) => {
    let parsed: URL;
    try {
      parsed = new URL(value);
    } catch {
      return problem(`must be an absolute ${schemes} URL (got ${quoted(value)})`);
    }
    if (parsed.username !== '' || parsed.password !== '') return problem('must not contain credentials');
    if (!protocols.includes(parsed.protocol) || parsed.hostname === '') {
      return problem(`must be an absolute ${schemes} URL (got ${quoted(value)})`);
    }
    return value;
  }, rest);
}

/**
 * Reads the variables of `shape` from `env`, and nothing else: an empty variable counts as unset and takes
 * its default. Throws {@link ConfigError} with one line per bad variable (`KEY_COMMAND_GAP_MS must be a
 * whole number from 0 to 600000 (got "0x10")`).
 */
export function parseEnv<S extends EnvShape>(shape: S, env: Env): ParsedEnv<S> {
  const input: Record<string, string | undefined> = {};
  for (const name of Object.keys(shape)) input[name] = env[name];
  const result = z.object(shape).safeParse(input);
  if (!result.success) {
    throw new ConfigError(result.error.issues.map((issue) => `${issue.path.map(String).join('.')} ${issue.message}`));
  }
  return result.data as ParsedEnv<S>;
}

/**
 * Checks one value outside the environment (a command-line flag, say) with the same rules; throws
 * {@link ConfigError} `<name> <problem>`. Empty text takes the variable's default.
 */
export function parseValue<T>(name: string, variable: EnvVariable<T>, text: string | undefined): T {
  const result = variable.safeParse(text);
  if (!result.success) throw new ConfigError(result.error.issues.map((issue) => `${name} ${issue.message}`));
  return result.data;
}
