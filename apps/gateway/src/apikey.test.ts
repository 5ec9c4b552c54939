import { sign } from 'jsonwebtoken';
import { createApiKey } from './apikey';
import { createAuthenticator, jwtSecretKey, parseApiKeysFile } from './auth';

describe('createApiKey', () => {
  test('the printed entry goes into API_KEYS_FILE as is, and the key then authenticates', () => {
    const { key, entry } = createApiKey({ orgId: 'acme', locks: '123, 124,123' });
    expect(key).toMatch(/^lk_[A-Za-z0-9_-]{43}$/);
    expect(entry).toEqual({
      id: expect.stringMatching(/^acme-[0-9a-f]{6}$/),
      sha256: expect.any(String),
      orgId: 'acme',
      locks: [123, 124],
    });
    expect(JSON.stringify(entry)).not.toContain(key);
    const apiKeys = parseApiKeysFile(JSON.stringify({ keys: [entry] }));
    const secret = 'apikey-test-secret-0123456789-abcdef';
    const authenticator = createAuthenticator({
      jwt: { algorithm: 'HS256', key: jwtSecretKey(secret), keySource: 'JWT_SECRET', clockToleranceSeconds: 5 },
      apiKeys,
    });
    expect(authenticator.authenticate(`Bearer ${sign({ sub: 'ops' }, secret)}`, key)).toMatchObject({ orgId: 'acme' });
  });

  test('every key is new; "*" and an explicit id are kept', () => {
    const first = createApiKey({ orgId: 'acme', locks: '*', id: 'acme-ci' });
    const second = createApiKey({ orgId: 'acme', locks: '*', id: 'acme-ci' });
    expect(first.entry).toMatchObject({ id: 'acme-ci', locks: '*' });
    expect(first.key).not.toBe(second.key);
    expect(first.entry.sha256).not.toBe(second.entry.sha256);
  });

  test.each([
    [
      'a lock id that is not one',
      { orgId: 'acme', locks: '12,abc' },
      '--locks: "abc" is not a lock id (use 123,124 or "*")',
    ],
    ['lock 0', { orgId: 'acme', locks: '0' }, '--locks: "0" is not a lock id (use 123,124 or "*")'],
    ['an empty organization', { orgId: '', locks: '1', id: 'x' }, 'orgId must not be empty'],
  ])('refuses %s', (_name, options, message) => {
    expect(() => createApiKey(options)).toThrow(message);
  });
});
