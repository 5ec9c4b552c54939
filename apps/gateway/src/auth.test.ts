import { sign } from 'jsonwebtoken';
import { createAuthenticator, sha256Hex } from './auth';
import type { GatewayConfig } from './config';
import { ForbiddenError, UnauthorizedError } from './errors';

const SECRET = 'auth-test-secret-0123456789-abcdefgh';
const ACME_KEY = 'lk_acme_0000000000000000000000000001';

function authenticator(jwt: GatewayConfig['jwt'] = { secret: SECRET }) {
  return createAuthenticator({
    jwt,
    apiKeys: [{ id: 'acme-1', sha256: sha256Hex(ACME_KEY), orgId: 'acme', locks: [7] }],
  });
}

/** The log reason of the UnauthorizedError `fn` throws. */
function reasonOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(UnauthorizedError);
    return (err as UnauthorizedError).reason;
  }
  throw new Error('did not throw');
}

describe('createAuthenticator', () => {
  test('a valid token and key give the principal', () => {
    const token = sign({ sub: 'alice', org: 'acme' }, SECRET, { expiresIn: '1m' });
    expect(authenticator().authenticate(`Bearer ${token}`, ACME_KEY)).toEqual({
      subject: 'alice',
      orgClaim: 'acme',
      apiKeyId: 'acme-1',
      orgId: 'acme',
    });
  });

  test('iss and aud are enforced when configured', () => {
    const strict = authenticator({ secret: SECRET, issuer: 'https://idp.example', audience: 'lockkeys' });
    const good = sign({ sub: 'alice' }, SECRET, { issuer: 'https://idp.example', audience: 'lockkeys' });
    expect(strict.authenticate(`Bearer ${good}`, ACME_KEY).subject).toBe('alice');
    const wrongIssuer = sign({ sub: 'alice' }, SECRET, { issuer: 'https://evil.example', audience: 'lockkeys' });
    expect(reasonOf(() => strict.authenticate(`Bearer ${wrongIssuer}`, ACME_KEY))).toMatch(/issuer invalid/);
    const noAudience = sign({ sub: 'alice' }, SECRET, { issuer: 'https://idp.example' });
    expect(reasonOf(() => strict.authenticate(`Bearer ${noAudience}`, ACME_KEY))).toMatch(/audience/);
  });

  test('the server-side reason says which credential failed', () => {
    const token = sign({ sub: 'alice' }, SECRET);
    const auth = authenticator();
    expect(reasonOf(() => auth.authenticate(undefined, ACME_KEY))).toBe('Authorization header missing');
    expect(reasonOf(() => auth.authenticate(`Token ${token}`, ACME_KEY))).toBe('Authorization scheme is not Bearer');
    expect(reasonOf(() => auth.authenticate(`Bearer ${token}`, undefined))).toBe('X-API-Key header missing');
    expect(reasonOf(() => auth.authenticate(`Bearer ${token}`, [ACME_KEY, ACME_KEY]))).toBe(
      'X-API-Key header malformed',
    );
    expect(reasonOf(() => auth.authenticate(`Bearer ${token}`, 'lk_other'))).toBe('X-API-Key unknown');
  });

  test('authorize: only the listed locks, and the org claim must match', () => {
    const auth = authenticator();
    const principal = { subject: 'alice', orgClaim: undefined, apiKeyId: 'acme-1', orgId: 'acme' };
    expect(() => auth.authorize(principal, 7)).not.toThrow();
    expect(() => auth.authorize(principal, 8)).toThrow(ForbiddenError);
    expect(() => auth.authorize({ ...principal, orgClaim: 'globex' }, 7)).toThrow(ForbiddenError);
    expect(() => auth.authorize({ ...principal, orgClaim: 'acme' }, 7)).not.toThrow();
  });
});
