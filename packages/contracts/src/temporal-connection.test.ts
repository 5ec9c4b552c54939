import {
  temporalConnectionEnvSchema,
  temporalConnectionOptions,
  temporalConnectionSettings,
} from './temporal-connection';

const settingsOf = (env: Record<string, string>) => temporalConnectionSettings(temporalConnectionEnvSchema.parse(env));
const files: Record<string, string> = { '/c.pem': 'CERT', '/k.pem': 'KEY', '/ca.pem': 'CA' };
const readFile = (path: string) => new TextEncoder().encode(files[path] ?? `missing ${path}`);
const text = (bytes: Uint8Array | undefined) => (bytes ? new TextDecoder().decode(bytes) : undefined);

test('defaults: the local dev server, no TLS', () => {
  expect(settingsOf({})).toEqual({ address: '127.0.0.1:7233', namespace: 'default', taskQueue: 'lock-keys' });
  expect(temporalConnectionOptions(settingsOf({}), readFile)).toEqual({ address: '127.0.0.1:7233' });
});

test('a remote cluster with mTLS: certificate pair, CA and server name from files', () => {
  const settings = settingsOf({
    TEMPORAL_ADDRESS: 'acme.a1b2c.tmprl.cloud:7233',
    TEMPORAL_NAMESPACE: 'acme.a1b2c',
    TEMPORAL_TLS_CERT: '/c.pem',
    TEMPORAL_TLS_KEY: '/k.pem',
    TEMPORAL_TLS_CA: '/ca.pem',
    TEMPORAL_TLS_SERVER_NAME: 'temporal.internal',
  });
  const options = temporalConnectionOptions(settings, readFile);
  expect(options.address).toBe('acme.a1b2c.tmprl.cloud:7233');
  expect(text(options.tls?.clientCertPair?.crt)).toBe('CERT');
  expect(text(options.tls?.clientCertPair?.key)).toBe('KEY');
  expect(text(options.tls?.serverRootCACertificate)).toBe('CA');
  expect(options.tls?.serverNameOverride).toBe('temporal.internal');
  expect(options.apiKey).toBeUndefined();
  expect(settings.namespace).toBe('acme.a1b2c');
});

test('Temporal Cloud with an API key: TLS on with system trust', () => {
  const options = temporalConnectionOptions(
    settingsOf({ TEMPORAL_ADDRESS: 'us-east-1.aws.api.temporal.io:7233', TEMPORAL_API_KEY: 'secret-key' }),
    readFile,
  );
  expect(options).toEqual({ address: 'us-east-1.aws.api.temporal.io:7233', tls: {}, apiKey: 'secret-key' });
});

test('TEMPORAL_TLS=true alone turns TLS on; empty values count as unset', () => {
  expect(settingsOf({ TEMPORAL_TLS: 'true' }).tls).toEqual({});
  expect(settingsOf({ TEMPORAL_TLS_CA: '  ', TEMPORAL_API_KEY: '' }).tls).toBeUndefined();
});

test.each([
  [{ TEMPORAL_TLS_CERT: '/c.pem' }, 'TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together'],
  [{ TEMPORAL_TLS_KEY: '/k.pem' }, 'TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together'],
  [{ TEMPORAL_TLS: 'false', TEMPORAL_API_KEY: 'k' }, 'contradicts'],
  [{ TEMPORAL_TLS: 'yes' }, 'TEMPORAL_TLS'],
  [{ TEMPORAL_ADDRESS: '' }, 'TEMPORAL_ADDRESS'],
])('%j is refused (%s)', (env, message) => {
  const result = temporalConnectionEnvSchema.safeParse(env);
  expect(result.success).toBe(false);
  expect(JSON.stringify(result.error!.issues)).toContain(message);
});
