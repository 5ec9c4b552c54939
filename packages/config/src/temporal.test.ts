import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, defaultTemporalConfigFile, isTemporalClientVariable, loadTemporalConnection } from './index';

let dir: string;
let fileNumber = 0;
/** Writes `content` to a fresh file in the temp dir and returns its path. */
const file = (content: string, name = `file-${++fileNumber}`) => {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
};
const text = (bytes: Uint8Array | undefined) => (bytes === undefined ? undefined : Buffer.from(bytes).toString());

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'lockkeys-temporal-config-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The problems of loadTemporalConnection(env), asserting a ConfigError. */
function problemsOf(env: Record<string, string>): readonly string[] {
  try {
    loadTemporalConnection(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error('loadTemporalConnection did not throw');
}

test('defaults: the local dev server, namespace default, plaintext', () => {
  expect(loadTemporalConnection({})).toEqual({
    connectionOptions: { address: '127.0.0.1:7233' },
    namespace: 'default',
    address: '127.0.0.1:7233',
    tls: false,
    auth: 'none',
  });
});

test('empty variables count as unset', () => {
  expect(
    loadTemporalConnection({
      TEMPORAL_ADDRESS: '',
      TEMPORAL_NAMESPACE: '',
      TEMPORAL_API_KEY: '',
      TEMPORAL_TLS: '',
      TEMPORAL_TLS_CLIENT_CERT_PATH: '',
      TEMPORAL_CONFIG_FILE: '',
      TEMPORAL_PROFILE: '',
    }),
  ).toEqual(loadTemporalConnection({}));
});

test('TEMPORAL_ADDRESS and TEMPORAL_NAMESPACE', () => {
  const connection = loadTemporalConnection({ TEMPORAL_ADDRESS: 'temporal:7233', TEMPORAL_NAMESPACE: 'locks' });
  expect(connection).toMatchObject({
    connectionOptions: { address: 'temporal:7233' },
    namespace: 'locks',
    address: 'temporal:7233',
    tls: false,
  });
  expect(loadTemporalConnection({ TEMPORAL_ADDRESS: '[::1]:7233' }).address).toBe('[::1]:7233');
});

test('TEMPORAL_API_KEY: sent on every call, turns TLS on with system trust', () => {
  const connection = loadTemporalConnection({
    TEMPORAL_ADDRESS: 'us-east-1.aws.api.temporal.io:7233',
    TEMPORAL_NAMESPACE: 'acme.a1b2c',
    TEMPORAL_API_KEY: 'cloud-key',
  });
  expect(connection.connectionOptions).toEqual({
    address: 'us-east-1.aws.api.temporal.io:7233',
    tls: true,
    apiKey: 'cloud-key',
  });
  expect(connection).toMatchObject({ namespace: 'acme.a1b2c', tls: true, auth: 'API key' });
});

test('mTLS: client certificate and key, server CA and server name, read from their files now', () => {
  const [cert, key, ca] = [file('CERT', 'client.pem'), file('KEY', 'client.key'), file('CA', 'ca.pem')];
  const connection = loadTemporalConnection({
    TEMPORAL_ADDRESS: 'acme.a1b2c.tmprl.cloud:7233',
    TEMPORAL_NAMESPACE: 'acme.a1b2c',
    TEMPORAL_TLS_CLIENT_CERT_PATH: cert,
    TEMPORAL_TLS_CLIENT_KEY_PATH: key,
    TEMPORAL_TLS_SERVER_CA_CERT_PATH: ca,
    TEMPORAL_TLS_SERVER_NAME: 'temporal.internal',
  });
  const tls = connection.connectionOptions.tls;
  if (typeof tls !== 'object') throw new Error('TLS options expected');
  expect(text(tls.clientCertPair?.crt)).toBe('CERT');
  expect(text(tls.clientCertPair?.key)).toBe('KEY');
  expect(text(tls.serverRootCACertificate)).toBe('CA');
  expect(tls.serverNameOverride).toBe('temporal.internal');
  expect(connection).toMatchObject({ tls: true, auth: 'mTLS', namespace: 'acme.a1b2c' });
  expect(connection.connectionOptions.apiKey).toBeUndefined();
});

test('TEMPORAL_TLS=true alone: TLS with system trust, no client certificate', () => {
  expect(loadTemporalConnection({ TEMPORAL_TLS: 'true' })).toMatchObject({
    connectionOptions: { address: '127.0.0.1:7233', tls: {} },
    tls: true,
    auth: 'none',
  });
});

test('TEMPORAL_GRPC_META_*: headers on every call', () => {
  expect(loadTemporalConnection({ TEMPORAL_GRPC_META_X_TENANT: 'acme' }).connectionOptions.metadata).toEqual({
    'x-tenant': 'acme',
  });
});

describe('TOML profiles, as the Temporal CLI writes them', () => {
  const toml = () => {
    const [cert, key] = [file('PROFILE-CERT'), file('PROFILE-KEY')];
    return file(`
[profile.default]
address = "127.0.0.1:7233"

[profile.prod]
address = "prod.example:7233"
namespace = "locks-prod"

[profile.prod.tls]
client_cert_path = "${cert}"
client_key_path = "${key}"
server_name = "temporal.prod"

[profile.cloud]
address = "us-east-1.aws.api.temporal.io:7233"
namespace = "acme.a1b2c"
api_key = "profile-key"
`);
  };

  test('TEMPORAL_CONFIG_FILE + TEMPORAL_PROFILE select a profile', () => {
    const path = toml();
    const connection = loadTemporalConnection({ TEMPORAL_CONFIG_FILE: path, TEMPORAL_PROFILE: 'prod' });
    expect(connection).toMatchObject({
      address: 'prod.example:7233',
      namespace: 'locks-prod',
      tls: true,
      auth: 'mTLS',
      profile: { file: path, name: 'prod' },
    });
    const tls = connection.connectionOptions.tls;
    if (typeof tls !== 'object') throw new Error('TLS options expected');
    expect(text(tls.clientCertPair?.crt)).toBe('PROFILE-CERT');
    expect(tls.serverNameOverride).toBe('temporal.prod');
  });

  test('the profile "default" when TEMPORAL_PROFILE is unset; variables override the profile', () => {
    const path = toml();
    expect(loadTemporalConnection({ TEMPORAL_CONFIG_FILE: path })).toMatchObject({
      address: '127.0.0.1:7233',
      namespace: 'default',
      profile: { file: path, name: 'default' },
    });
    expect(
      loadTemporalConnection({
        TEMPORAL_CONFIG_FILE: path,
        TEMPORAL_PROFILE: 'cloud',
        TEMPORAL_NAMESPACE: 'other.a1b2c',
      }),
    ).toMatchObject({ namespace: 'other.a1b2c', auth: 'API key', connectionOptions: { apiKey: 'profile-key' } });
  });

  test("without TEMPORAL_CONFIG_FILE: the CLI's own file under the env's XDG_CONFIG_HOME or HOME", () => {
    const home = join(dir, 'home');
    mkdirSync(join(home, '.config', 'temporalio'), { recursive: true });
    writeFileSync(join(home, '.config', 'temporalio', 'temporal.toml'), '[profile.default]\naddress = "home:7233"\n');
    expect(defaultTemporalConfigFile({ HOME: home })).toBe(join(home, '.config', 'temporalio', 'temporal.toml'));
    expect(loadTemporalConnection({ HOME: home }).address).toBe('home:7233');
    // No such file is fine: the defaults apply.
    expect(loadTemporalConnection({ HOME: join(dir, 'nobody') }).address).toBe('127.0.0.1:7233');
    expect(loadTemporalConnection({ XDG_CONFIG_HOME: join(home, '.config') }).address).toBe('home:7233');
  });
});

describe('bad values are refused with one line each, naming the variable', () => {
  const missing = () => join(dir, 'missing.pem');
  test.each<[string, () => Record<string, string>, RegExp[]]>([
    [
      'an address without a port',
      () => ({ TEMPORAL_ADDRESS: 'temporal' }),
      [/^TEMPORAL_ADDRESS must be host:port \(got "temporal"\)$/],
    ],
    [
      'an address with a scheme',
      () => ({ TEMPORAL_ADDRESS: 'http://temporal:7233' }),
      [/^TEMPORAL_ADDRESS must be host:port/],
    ],
    ['a port out of range', () => ({ TEMPORAL_ADDRESS: 'temporal:70000' }), [/^TEMPORAL_ADDRESS must be host:port/]],
    [
      'a namespace with spaces',
      () => ({ TEMPORAL_NAMESPACE: 'my ns' }),
      [/^TEMPORAL_NAMESPACE must be a namespace name/],
    ],
    [
      'TEMPORAL_TLS not a boolean',
      () => ({ TEMPORAL_TLS: 'yes' }),
      [/^TEMPORAL_TLS must be true or false \(got "yes"\)$/],
    ],
    ['TEMPORAL_TLS=1', () => ({ TEMPORAL_TLS: '1' }), [/^TEMPORAL_TLS must be true or false/]],
    [
      'a client certificate without its key',
      () => ({ TEMPORAL_TLS_CLIENT_CERT_PATH: file('C') }),
      [/^TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH go together: set both or neither$/],
    ],
    [
      'a key without its certificate',
      () => ({ TEMPORAL_TLS_CLIENT_KEY_PATH: file('K') }),
      [/^TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH go together/],
    ],
    [
      'a client certificate that does not exist',
      () => ({ TEMPORAL_TLS_CLIENT_CERT_PATH: missing(), TEMPORAL_TLS_CLIENT_KEY_PATH: file('K') }),
      [/^TEMPORAL_TLS_CLIENT_CERT_PATH \S+missing\.pem: cannot be read \(ENOENT\)$/],
    ],
    [
      'a server CA that does not exist',
      () => ({ TEMPORAL_TLS_SERVER_CA_CERT_PATH: missing() }),
      [/^TEMPORAL_TLS_SERVER_CA_CERT_PATH \S+missing\.pem: cannot be read \(ENOENT\)$/],
    ],
    [
      'TLS off with an API key',
      () => ({ TEMPORAL_TLS: 'false', TEMPORAL_API_KEY: 'cloud-key' }),
      [/^TEMPORAL_TLS=false contradicts TEMPORAL_API_KEY$/],
    ],
    [
      'TLS off with a CA',
      () => ({ TEMPORAL_TLS: 'false', TEMPORAL_TLS_SERVER_CA_CERT_PATH: file('CA') }),
      [/^TEMPORAL_TLS=false contradicts TEMPORAL_TLS_SERVER_CA_CERT_PATH$/],
    ],
    [
      'host verification off (the TypeScript SDK cannot)',
      () => ({ TEMPORAL_TLS_DISABLE_HOST_VERIFICATION: 'true' }),
      [/^TEMPORAL_TLS_DISABLE_HOST_VERIFICATION is not supported/],
    ],
    [
      'TEMPORAL_CONFIG_FILE that does not exist',
      () => ({ TEMPORAL_CONFIG_FILE: join(dir, 'nope.toml') }),
      [/^TEMPORAL_CONFIG_FILE \S+nope\.toml: cannot be read \(ENOENT\)$/],
    ],
    [
      'TEMPORAL_PROFILE that the file does not have',
      () => ({ TEMPORAL_CONFIG_FILE: file('[profile.default]\naddress = "a:1"\n'), TEMPORAL_PROFILE: 'staging' }),
      [/^TEMPORAL_PROFILE "staging": no such profile in \S+$/],
    ],
    [
      'TEMPORAL_PROFILE without any file',
      () => ({ TEMPORAL_PROFILE: 'staging' }),
      [/^TEMPORAL_PROFILE "staging": no Temporal config file/],
    ],
    [
      'a file that is not TOML',
      () => ({ TEMPORAL_CONFIG_FILE: file('[profile.default\naddress = ') }),
      [/^TEMPORAL_CONFIG_FILE \S+ profile "default": .+$/],
    ],
    [
      'a bad address in the profile, named by file, profile and key',
      () => ({ TEMPORAL_CONFIG_FILE: file('[profile.default]\naddress = "no port"\n') }),
      [/^TEMPORAL_CONFIG_FILE \S+ profile "default": address must be host:port \(got "no port"\)$/],
    ],
    [
      "a profile's certificate that does not exist",
      () => ({
        TEMPORAL_CONFIG_FILE: file(
          `[profile.default.tls]\nclient_cert_path = "${join(dir, 'gone.pem')}"\nclient_key_path = "${file('K')}"\n`,
        ),
      }),
      [/^TEMPORAL_CONFIG_FILE \S+ profile "default": tls\.client_cert_path \S+gone\.pem: cannot be read \(ENOENT\)$/],
    ],
    [
      'several at once: one line each',
      () => ({ TEMPORAL_ADDRESS: 'nope', TEMPORAL_TLS: 'maybe' }),
      [/^TEMPORAL_ADDRESS must be host:port/, /^TEMPORAL_TLS must be true or false/],
    ],
  ])('%s', (_name, env, lines) => {
    const problems = problemsOf(env());
    expect(problems).toHaveLength(lines.length);
    problems.forEach((problem, index) => {
      expect(problem).not.toContain('\n');
      expect(problem).toMatch(lines[index]!);
    });
  });

  test('an API key or key data is never echoed', () => {
    const problems = problemsOf({
      TEMPORAL_TLS: 'false',
      TEMPORAL_API_KEY: 'sk-very-secret',
      TEMPORAL_TLS_CLIENT_KEY_DATA: '-----BEGIN PRIVATE KEY-----secret',
    });
    expect(problems.join('\n')).not.toMatch(/sk-very-secret|BEGIN PRIVATE KEY/);
    expect(problemsOf({ TEMPORAL_API_KEY: 'x'.repeat(20_000) })).toEqual([
      'TEMPORAL_API_KEY must be at most 16384 characters',
    ]);
  });
});

test('reads only the env object it is given, never process.env', () => {
  const poisoned = {
    TEMPORAL_ADDRESS: 'bad address',
    TEMPORAL_CONFIG_FILE: join(dir, 'not-there.toml'),
    TEMPORAL_API_KEY: 'from-process-env',
    XDG_CONFIG_HOME: dir,
  };
  const saved = Object.fromEntries(Object.keys(poisoned).map((name) => [name, process.env[name]]));
  Object.assign(process.env, poisoned);
  try {
    expect(loadTemporalConnection({})).toMatchObject({ address: '127.0.0.1:7233', auth: 'none' });
  } finally {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
});

test('isTemporalClientVariable: the SDK names and the gRPC header family, not our own', () => {
  expect(
    ['TEMPORAL_ADDRESS', 'TEMPORAL_TLS_CLIENT_CERT_PATH', 'TEMPORAL_PROFILE', 'TEMPORAL_GRPC_META_X'].every(
      isTemporalClientVariable,
    ),
  ).toBe(true);
  expect(['TEMPORAL_TASK_QUEUE', 'TEMPORAL_PORT', 'TEMPORAL_CLI'].some(isTemporalClientVariable)).toBe(false);
});
