import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sha256Hex } from './auth';
import { DEV_API_KEY, DEV_JWT_SECRET } from '@lockkeys/contracts';
import { ConfigError, loadConfig } from './config';

const PRODUCTION_SECRET = 'production-secret-0123456789-0123456789';
const ecPair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const EC_PUBLIC_PEM = ecPair.publicKey.export({ type: 'spki', format: 'pem' }).toString();
const EC_PRIVATE_PEM = ecPair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const RSA_PUBLIC_PEM = generateKeyPairSync('rsa', { modulusLength: 2048 })
  .publicKey.export({ type: 'spki', format: 'pem' })
  .toString();
const ACME_HASH = sha256Hex('lk_acme_key');

let tempDir: string;
let fileNumber = 0;
/** Writes `content` (an object as JSON, a string as is) to a fresh file and returns its path. */
function keysFile(content: unknown): string {
  const path = join(tempDir, `keys-${++fileNumber}.json`);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}
const goodKeysFile = () => keysFile({ keys: [{ id: 'acme-1', sha256: ACME_HASH, orgId: 'acme', locks: [1, 2] }] });

beforeAll(() => {
  tempDir = mkdtempSync(join(tmpdir(), 'gateway-config-'));
});
afterAll(() => rmSync(tempDir, { recursive: true, force: true }));

/** loadConfig's error message, asserting it is a one-line ConfigError. */
function configErrorOf(env: NodeJS.ProcessEnv): string {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    const { message } = err as Error;
    expect(message).not.toContain('\n');
    return message;
  }
  throw new Error('loadConfig did not throw');
}

describe('loadConfig', () => {
  test('development defaults: dev secret, dev key stored as a hash, SPEC ports and names', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 3000,
      host: '127.0.0.1',
      nodeEnv: 'development',
      isProduction: false,
      logLevel: 'info',
      jwt: { algorithm: 'HS256', keySource: 'built-in development secret', clockToleranceSeconds: 5 },
      temporal: { address: '127.0.0.1:7233', namespace: 'default', taskQueue: 'lock-keys' },
      limits: {
        maxKeysPerRequest: 1000,
        maxKeyIndex: 65535,
        maxBodyBytes: 1048576,
        rateLimitPerMinute: 120,
        maxActiveRunsPerLock: 20,
      },
    });
    expect(config.jwt.key.export().toString()).toBe(DEV_JWT_SECRET);
    expect(config.apiKeys).toEqual([{ id: 'dev', sha256: sha256Hex(DEV_API_KEY), orgId: 'dev', locks: '*' }]);
    expect(JSON.stringify(config)).not.toContain(DEV_API_KEY);
  });

  test('every variable overrides its default; empty means unset', () => {
    const config = loadConfig({
      PORT: '8080',
      HOST: '0.0.0.0',
      JWT_SECRET: '',
      JWT_ISSUER: 'https://issuer.example',
      JWT_AUDIENCE: 'lockkeys',
      TEMPORAL_ADDRESS: 'temporal:7233',
      TEMPORAL_NAMESPACE: 'locks',
      TEMPORAL_TASK_QUEUE: 'other-queue',
      MAX_KEYS_PER_REQUEST: '50',
      MAX_KEY_INDEX: '999',
      MAX_BODY_BYTES: '2048',
      RATE_LIMIT_PER_MINUTE: '600',
      MAX_ACTIVE_RUNS_PER_LOCK: '5',
      JWT_CLOCK_TOLERANCE_S: '0',
      LOG_LEVEL: 'debug',
    });
    expect(config).toMatchObject({
      port: 8080,
      host: '0.0.0.0',
      logLevel: 'debug',
      jwt: {
        algorithm: 'HS256',
        keySource: 'built-in development secret',
        clockToleranceSeconds: 0,
        issuer: 'https://issuer.example',
        audience: 'lockkeys',
      },
      temporal: {
        address: 'temporal:7233',
        namespace: 'locks',
        taskQueue: 'other-queue',
        connectionOptions: { address: 'temporal:7233' },
      },
      limits: {
        maxKeysPerRequest: 50,
        maxKeyIndex: 999,
        maxBodyBytes: 2048,
        rateLimitPerMinute: 600,
        maxActiveRunsPerLock: 5,
      },
    });
  });

  test('production with a real secret and a key file', () => {
    const config = loadConfig({ NODE_ENV: 'production', JWT_SECRET: PRODUCTION_SECRET, API_KEYS_FILE: goodKeysFile() });
    expect(config.isProduction).toBe(true);
    expect(config.jwt).toMatchObject({ algorithm: 'HS256', keySource: 'JWT_SECRET' });
    expect(config.jwt.key.type).toBe('secret');
    expect(config.jwt.key.export().toString()).toBe(PRODUCTION_SECRET);
    expect(config.apiKeys).toEqual([{ id: 'acme-1', sha256: ACME_HASH, orgId: 'acme', locks: [1, 2] }]);
  });

  test('production with JWT_PUBLIC_KEY: the algorithm follows the key, and JWT_ALGORITHM may confirm it', () => {
    const config = loadConfig({
      NODE_ENV: 'production',
      JWT_PUBLIC_KEY: EC_PUBLIC_PEM,
      JWT_ALGORITHM: 'ES256',
      API_KEYS_FILE: goodKeysFile(),
    });
    expect(config.jwt).toMatchObject({ algorithm: 'ES256', keySource: 'JWT_PUBLIC_KEY' });
    expect(config.jwt.key.type).toBe('public');
    expect(loadConfig({ JWT_PUBLIC_KEY: RSA_PUBLIC_PEM }).jwt.algorithm).toBe('RS256');
  });

  test.each<[string, NodeJS.ProcessEnv, RegExp]>([
    [
      'production without JWT_SECRET or JWT_PUBLIC_KEY',
      { NODE_ENV: 'production' },
      /^JWT_SECRET or JWT_PUBLIC_KEY is required when NODE_ENV=production$/,
    ],
    [
      'production with an empty JWT_SECRET',
      { NODE_ENV: 'production', JWT_SECRET: '' },
      /^JWT_SECRET or JWT_PUBLIC_KEY is required/,
    ],
    [
      'both JWT_SECRET and JWT_PUBLIC_KEY',
      { JWT_SECRET: PRODUCTION_SECRET, JWT_PUBLIC_KEY: RSA_PUBLIC_PEM },
      /^Set either JWT_SECRET \(HS256\) or JWT_PUBLIC_KEY \(RS256\/ES256\), not both$/,
    ],
    ['JWT_PUBLIC_KEY not a key', { JWT_PUBLIC_KEY: 'hello' }, /^JWT_PUBLIC_KEY is not a PEM public key$/],
    [
      'JWT_PUBLIC_KEY that is a private key',
      { JWT_PUBLIC_KEY: EC_PRIVATE_PEM },
      /^JWT_PUBLIC_KEY holds a private key; configure the public key only$/,
    ],
    [
      'JWT_ALGORITHM contradicting the key',
      { JWT_PUBLIC_KEY: RSA_PUBLIC_PEM, JWT_ALGORITHM: 'ES256' },
      /^JWT_PUBLIC_KEY holds a key for RS256, but JWT_ALGORITHM=ES256$/,
    ],
    [
      'JWT_ALGORITHM=RS256 with a secret',
      { JWT_SECRET: PRODUCTION_SECRET, JWT_ALGORITHM: 'RS256' },
      /^JWT_ALGORITHM=RS256 needs JWT_PUBLIC_KEY; JWT_SECRET is for HS256 only$/,
    ],
    ['JWT_ALGORITHM none', { JWT_ALGORITHM: 'none' }, /JWT_ALGORITHM must be one of HS256, RS256, ES256/],
    [
      'JWT_CLOCK_TOLERANCE_S too big',
      { JWT_CLOCK_TOLERANCE_S: '3600' },
      /^JWT_CLOCK_TOLERANCE_S must be a whole number from 0 to 300 \(got "3600"\)$/,
    ],
    [
      'RATE_LIMIT_PER_MINUTE zero',
      { RATE_LIMIT_PER_MINUTE: '0' },
      /^RATE_LIMIT_PER_MINUTE must be a whole number from 1 to 1000000/,
    ],
    [
      'MAX_KEYS_PER_REQUEST above 5000',
      { MAX_KEYS_PER_REQUEST: '5001' },
      /^MAX_KEYS_PER_REQUEST must be a whole number from 1 to 5000 \(got "5001"\)$/,
    ],
    [
      'MAX_ACTIVE_RUNS_PER_LOCK zero',
      { MAX_ACTIVE_RUNS_PER_LOCK: '0' },
      /^MAX_ACTIVE_RUNS_PER_LOCK must be a whole number from 1 to 1000 \(got "0"\)$/,
    ],
    [
      'MAX_ACTIVE_RUNS_PER_LOCK above 1000',
      { MAX_ACTIVE_RUNS_PER_LOCK: '1001' },
      /^MAX_ACTIVE_RUNS_PER_LOCK must be a whole number from 1 to 1000/,
    ],
    [
      'JWT_SECRET far too long: named, never echoed',
      { JWT_SECRET: 's'.repeat(5000) },
      /^JWT_SECRET must be at most 4096 characters$/,
    ],
    [
      'production with the dev secret',
      { NODE_ENV: 'production', JWT_SECRET: DEV_JWT_SECRET },
      /JWT_SECRET must not be the built-in development secret/,
    ],
    [
      'production with a short secret',
      { NODE_ENV: 'production', JWT_SECRET: 'short' },
      /JWT_SECRET must be at least 32/,
    ],
    [
      'production without API_KEYS_FILE',
      { NODE_ENV: 'production', JWT_SECRET: PRODUCTION_SECRET },
      /^API_KEYS_FILE is required when NODE_ENV=production$/,
    ],
    ['PORT not a number', { PORT: 'http' }, /^PORT must be a whole number from 0 to 65535 \(got "http"\)$/],
    ['PORT out of range', { PORT: '70000' }, /^PORT must be a whole number from 0 to 65535 \(got "70000"\)$/],
    ['MAX_KEYS_PER_REQUEST zero', { MAX_KEYS_PER_REQUEST: '0' }, /^MAX_KEYS_PER_REQUEST must be a whole number from 1/],
    ['MAX_BODY_BYTES negative', { MAX_BODY_BYTES: '-1' }, /^MAX_BODY_BYTES must be a whole number/],
    ['unknown LOG_LEVEL', { LOG_LEVEL: 'verbose' }, /^LOG_LEVEL must be one of fatal, error/],
  ])('%s → one-line ConfigError', (_name, env, message) => {
    expect(configErrorOf(env)).toMatch(message);
  });

  test('production refuses a key file that contains the dev key', () => {
    const path = keysFile({ keys: [{ id: 'oops', sha256: sha256Hex(DEV_API_KEY), orgId: 'dev', locks: '*' }] });
    expect(configErrorOf({ NODE_ENV: 'production', JWT_SECRET: PRODUCTION_SECRET, API_KEYS_FILE: path })).toBe(
      `API_KEYS_FILE ${path}: must not contain the built-in development key`,
    );
  });
});

describe('Temporal connection through @temporalio/envconfig: local dev server by default, or a remote cluster', () => {
  /** A readable PEM-looking file in the temp dir. */
  const pemFile = (name: string) => {
    const path = join(tempDir, name);
    writeFileSync(path, `-----BEGIN ${name}-----\n`);
    return path;
  };

  test('defaults: 127.0.0.1:7233, namespace default, task queue lock-keys, no TLS, no API key', () => {
    expect(loadConfig({}).temporal).toEqual({
      connectionOptions: { address: '127.0.0.1:7233' },
      address: '127.0.0.1:7233',
      namespace: 'default',
      taskQueue: 'lock-keys',
      tls: false,
      auth: 'none',
    });
  });

  test('production needs nothing extra for Temporal: the defaults hold', () => {
    const config = loadConfig({ NODE_ENV: 'production', JWT_SECRET: PRODUCTION_SECRET, API_KEYS_FILE: goodKeysFile() });
    expect(config.temporal).toMatchObject({ address: '127.0.0.1:7233', namespace: 'default', taskQueue: 'lock-keys' });
  });

  test('mTLS: certificate and key, CA and server name, read at start-up', () => {
    const [cert, key, ca] = [pemFile('client.crt'), pemFile('client.key'), pemFile('ca.crt')];
    const config = loadConfig({
      TEMPORAL_ADDRESS: 'acme.a1b2c.tmprl.cloud:7233',
      TEMPORAL_NAMESPACE: 'acme.a1b2c',
      TEMPORAL_TLS_CLIENT_CERT_PATH: cert,
      TEMPORAL_TLS_CLIENT_KEY_PATH: key,
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: ca,
      TEMPORAL_TLS_SERVER_NAME: 'temporal.internal',
    });
    expect(config.temporal).toMatchObject({
      address: 'acme.a1b2c.tmprl.cloud:7233',
      namespace: 'acme.a1b2c',
      taskQueue: 'lock-keys',
      tls: true,
      auth: 'mTLS',
      connectionOptions: {
        address: 'acme.a1b2c.tmprl.cloud:7233',
        tls: { serverNameOverride: 'temporal.internal' },
      },
    });
    const tls = config.temporal.connectionOptions.tls;
    expect(typeof tls === 'object' && Buffer.from(tls.clientCertPair!.crt).toString()).toBe(
      '-----BEGIN client.crt-----\n',
    );
  });

  test('an API key turns TLS on with system trust', () => {
    const config = loadConfig({
      TEMPORAL_ADDRESS: 'us-east-1.aws.api.temporal.io:7233',
      TEMPORAL_API_KEY: 'cloud-key',
    });
    expect(config.temporal).toMatchObject({ tls: true, auth: 'API key', connectionOptions: { apiKey: 'cloud-key' } });
  });

  test('a profile of the Temporal CLI config file: TEMPORAL_CONFIG_FILE + TEMPORAL_PROFILE', () => {
    const file = join(tempDir, 'temporal.toml');
    writeFileSync(file, '[profile.staging]\naddress = "staging.example:7233"\nnamespace = "locks-staging"\n');
    expect(loadConfig({ TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'staging' }).temporal).toMatchObject({
      address: 'staging.example:7233',
      namespace: 'locks-staging',
      taskQueue: 'lock-keys',
      profile: { file, name: 'staging' },
    });
  });

  test('empty TLS variables mean unset', () => {
    expect(
      loadConfig({ TEMPORAL_TLS_CLIENT_CERT_PATH: '', TEMPORAL_TLS_CLIENT_KEY_PATH: '', TEMPORAL_API_KEY: '' })
        .temporal,
    ).toMatchObject({ tls: false, auth: 'none', connectionOptions: { address: '127.0.0.1:7233' } });
  });

  test.each<[string, () => NodeJS.ProcessEnv, RegExp]>([
    [
      'a certificate without its key',
      () => ({ TEMPORAL_TLS_CLIENT_CERT_PATH: pemFile('lonely.crt') }),
      /^TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH go together: set both or neither$/,
    ],
    [
      'TEMPORAL_TLS=false with an API key',
      () => ({ TEMPORAL_TLS: 'false', TEMPORAL_API_KEY: 'cloud-key' }),
      /^TEMPORAL_TLS=false contradicts TEMPORAL_API_KEY$/,
    ],
    [
      'TEMPORAL_TLS not a boolean',
      () => ({ TEMPORAL_TLS: 'yes' }),
      /^TEMPORAL_TLS must be true or false \(got "yes"\)$/,
    ],
    [
      'a certificate file that does not exist',
      () => ({
        TEMPORAL_TLS_CLIENT_CERT_PATH: join(tempDir, 'nope.crt'),
        TEMPORAL_TLS_CLIENT_KEY_PATH: pemFile('k.key'),
      }),
      /^TEMPORAL_TLS_CLIENT_CERT_PATH \S+nope\.crt: cannot be read \(ENOENT\)$/,
    ],
    [
      'a CA file that does not exist',
      () => ({ TEMPORAL_TLS_SERVER_CA_CERT_PATH: join(tempDir, 'nope-ca.crt') }),
      /^TEMPORAL_TLS_SERVER_CA_CERT_PATH \S+nope-ca\.crt: cannot be read \(ENOENT\)$/,
    ],
    ['an address without a port', () => ({ TEMPORAL_ADDRESS: 'temporal' }), /^TEMPORAL_ADDRESS must be host:port/],
    [
      'a config file that does not exist',
      () => ({ TEMPORAL_CONFIG_FILE: join(tempDir, 'nope.toml') }),
      /^TEMPORAL_CONFIG_FILE \S+nope\.toml: cannot be read \(ENOENT\)$/,
    ],
  ])('%s → one-line ConfigError naming the variable', (_name, env, message) => {
    expect(configErrorOf(env())).toMatch(message);
  });

  test('a bad gateway variable and a bad Temporal variable: one line each, together', () => {
    try {
      loadConfig({ MAX_KEY_INDEX: '1e3', TEMPORAL_TLS: 'on' });
      throw new Error('loadConfig did not throw');
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).problems).toEqual([
        `MAX_KEY_INDEX must be a whole number from 0 to ${Number.MAX_SAFE_INTEGER} (got "1e3")`,
        'TEMPORAL_TLS must be true or false (got "on")',
      ]);
    }
  });
});

describe('integers are plain decimals: MAX_KEYS_PER_REQUEST', () => {
  test.each<[string, string, number | RegExp]>([
    ['empty → the default', '', 1000],
    ['a value', '250', 250],
    ['hex', '0x10', /^MAX_KEYS_PER_REQUEST must be a whole number from 1 to 5000 \(got "0x10"\)$/],
    ['exponent', '1e3', /^MAX_KEYS_PER_REQUEST must be a whole number from 1 to 5000 \(got "1e3"\)$/],
    ['leading space', ' 5', /^MAX_KEYS_PER_REQUEST must be a whole number from 1 to 5000 \(got " 5"\)$/],
    ['negative', '-1', /^MAX_KEYS_PER_REQUEST must be a whole number from 1 to 5000 \(got "-1"\)$/],
    ['over range', '5001', /^MAX_KEYS_PER_REQUEST must be a whole number from 1 to 5000 \(got "5001"\)$/],
  ])('%s (%j)', (_name, value, expected) => {
    if (typeof expected === 'number') {
      expect(loadConfig({ MAX_KEYS_PER_REQUEST: value }).limits.maxKeysPerRequest).toBe(expected);
    } else {
      expect(configErrorOf({ MAX_KEYS_PER_REQUEST: value })).toMatch(expected);
    }
  });
});

test('loadConfig(env) reads that object only, never process.env', () => {
  const poisoned = { MAX_KEYS_PER_REQUEST: '0x10', NODE_ENV: 'production', TEMPORAL_ADDRESS: 'bad', LOG_LEVEL: 'loud' };
  const saved = Object.fromEntries(Object.keys(poisoned).map((name) => [name, process.env[name]]));
  Object.assign(process.env, poisoned);
  try {
    expect(loadConfig({})).toMatchObject({
      isProduction: false,
      logLevel: 'info',
      limits: { maxKeysPerRequest: 1000 },
    });
  } finally {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
});

describe('API_KEYS_FILE problems name the file and the entry', () => {
  const good = { id: 'acme-1', sha256: ACME_HASH, orgId: 'acme', locks: [1] };

  test.each<[string, unknown, string]>([
    [
      'bad sha256 in the second entry',
      { keys: [good, { id: 'broken', sha256: 'abc', orgId: 'acme', locks: '*' }] },
      'keys[1] (id "broken"): sha256 must be 64 hexadecimal characters',
    ],
    ['entry without id', { keys: [{ sha256: ACME_HASH, orgId: 'acme', locks: [1] }] }, 'keys[0]: id must be a string'],
    [
      'bad locks',
      { keys: [{ ...good, locks: [0] }] },
      'keys[0] (id "acme-1"): locks must be "*" or an array of positive integer lock ids',
    ],
    [
      'plaintext key left in the file',
      { keys: [{ ...good, key: 'lk_live_secret' }] },
      'keys[0] (id "acme-1"): unknown properties: key',
    ],
    [
      'duplicate id',
      { keys: [good, { ...good, sha256: sha256Hex('other') }] },
      'keys[1] (id "acme-1"): duplicate id (also keys[0])',
    ],
    [
      'duplicate hash',
      { keys: [good, { ...good, id: 'acme-2', sha256: ACME_HASH.toUpperCase() }] },
      'keys[1] (id "acme-2"): duplicate sha256 (also keys[0])',
    ],
    ['empty list', { keys: [] }, 'keys must not be empty'],
    ['no keys array', { apiKeys: [] }, 'must be an object with a "keys" array'],
    ['not JSON', '{ keys: [', 'is not valid JSON'],
    [
      'several bad entries, each named',
      { keys: [{ ...good, locks: 'all' }, good, { ...good, id: '', sha256: sha256Hex('x'), revoked: 'yes' }] },
      'keys[0] (id "acme-1"): locks must be "*" or an array of positive integer lock ids; ' +
        'keys[2] (id ""): id must not be empty; keys[2] (id ""): revoked must be true or false',
    ],
  ])('%s', (_name, content, problem) => {
    const path = keysFile(content);
    expect(configErrorOf({ API_KEYS_FILE: path })).toBe(`API_KEYS_FILE ${path}: ${problem}`);
  });

  test('missing file', () => {
    const path = join(tempDir, 'does-not-exist.json');
    expect(configErrorOf({ API_KEYS_FILE: path })).toBe(`API_KEYS_FILE ${path}: cannot be read (ENOENT)`);
  });

  test('a revoked entry is kept, marked', () => {
    const path = keysFile({ keys: [good, { ...good, id: 'acme-0', sha256: sha256Hex('old'), revoked: true }] });
    expect(loadConfig({ API_KEYS_FILE: path }).apiKeys[1]).toEqual({
      id: 'acme-0',
      sha256: sha256Hex('old'),
      orgId: 'acme',
      locks: [1],
      revoked: true,
    });
  });

  test('hex case does not matter', () => {
    const path = keysFile({ keys: [{ ...good, sha256: ACME_HASH.toUpperCase() }] });
    expect(loadConfig({ API_KEYS_FILE: path }).apiKeys[0]?.sha256).toBe(ACME_HASH);
  });
});
