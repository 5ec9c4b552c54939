import { createHmac, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { sign } from 'jsonwebtoken';
import { createAuthenticator, jwtPublicKey, jwtSecretKey, sha256Hex } from './auth';
import type { GatewayConfig } from './config';
import { type AuthFailureReason, ForbiddenError, UnauthorizedError } from './errors';

const SECRET = 'auth-test-secret-0123456789-abcdefgh';
const ACME_KEY = 'lk_acme_0000000000000000000000000001';
const REVOKED_KEY = 'lk_acme_0000000000000000000000000002';

const hs256 = (over: Partial<GatewayConfig['jwt']> = {}): GatewayConfig['jwt'] => ({
  algorithm: 'HS256',
  key: jwtSecretKey(SECRET),
  keySource: 'JWT_SECRET',
  clockToleranceSeconds: 5,
  ...over,
});

function authenticator(jwt: GatewayConfig['jwt'] = hs256()) {
  return createAuthenticator({
    jwt,
    apiKeys: [
      { id: 'acme-1', sha256: sha256Hex(ACME_KEY), orgId: 'acme', locks: [7] },
      { id: 'acme-old', sha256: sha256Hex(REVOKED_KEY), orgId: 'acme', locks: [7], revoked: true },
    ],
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

const pem = (key: KeyObject) => key.export({ type: 'spki', format: 'pem' }).toString();
const base64url = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

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
    const strict = authenticator(hs256({ issuer: 'https://idp.example', audience: 'lockkeys' }));
    const good = sign({ sub: 'alice' }, SECRET, { issuer: 'https://idp.example', audience: 'lockkeys' });
    expect(strict.authenticate(`Bearer ${good}`, ACME_KEY).subject).toBe('alice');
    const wrongIssuer = sign({ sub: 'alice' }, SECRET, { issuer: 'https://evil.example', audience: 'lockkeys' });
    expect(reasonOf(() => strict.authenticate(`Bearer ${wrongIssuer}`, ACME_KEY))).toMatch(/issuer invalid/);
    const noAudience = sign({ sub: 'alice' }, SECRET, { issuer: 'https://idp.example' });
    expect(reasonOf(() => strict.authenticate(`Bearer ${noAudience}`, ACME_KEY))).toMatch(/audience/);
  });

  test('the clock tolerance is the configured one', () => {
    const now = Math.floor(Date.now() / 1000);
    const expiredBy20s = `Bearer ${sign({ sub: 'alice', exp: now - 20 }, SECRET)}`;
    expect(reasonOf(() => authenticator().authenticate(expiredBy20s, ACME_KEY))).toBe('JWT expired');
    expect(authenticator(hs256({ clockToleranceSeconds: 30 })).authenticate(expiredBy20s, ACME_KEY).subject).toBe(
      'alice',
    );
    const notBeforeIn20s = `Bearer ${sign({ sub: 'alice', nbf: now + 20 }, SECRET)}`;
    expect(reasonOf(() => authenticator().authenticate(notBeforeIn20s, ACME_KEY))).toBe('JWT not yet valid');
    expect(authenticator(hs256({ clockToleranceSeconds: 30 })).authenticate(notBeforeIn20s, ACME_KEY).subject).toBe(
      'alice',
    );
  });

  test('the server-side reason says which credential failed', () => {
    const token = sign({ sub: 'alice' }, SECRET);
    const auth = authenticator();
    expect(reasonOf(() => auth.authenticate(undefined, ACME_KEY))).toBe('Authorization header missing');
    expect(reasonOf(() => auth.authenticate(`Token ${token}`, ACME_KEY))).toBe('Authorization scheme is not Bearer');
    expect(reasonOf(() => auth.authenticate(`Bearer ${'a'.repeat(9000)}`, ACME_KEY))).toBe(
      'Authorization header too long',
    );
    expect(reasonOf(() => auth.authenticate(`Bearer ${token}`, undefined))).toBe('X-API-Key header missing');
    expect(reasonOf(() => auth.authenticate(`Bearer ${token}`, [ACME_KEY, ACME_KEY]))).toBe(
      'X-API-Key header malformed',
    );
    expect(reasonOf(() => auth.authenticate(`Bearer ${token}`, 'lk_other'))).toBe('X-API-Key unknown');
    expect(reasonOf(() => auth.authenticate(`Bearer ${token}`, REVOKED_KEY))).toBe('X-API-Key revoked (id acme-old)');
  });

  test('each failure has its bounded reason code (the metrics label)', () => {
    const auth = authenticator(hs256({ issuer: 'https://idp.example', audience: 'lockkeys' }));
    const claims = { sub: 'alice', iss: 'https://idp.example', aud: 'lockkeys' };
    const good = sign(claims, SECRET);
    const [header, payload] = good.split('.');
    const now = Math.floor(Date.now() / 1000);
    const codeOf = (authorization: string | undefined, apiKey: string | string[] | undefined) => {
      try {
        auth.authenticate(authorization, apiKey);
      } catch (err) {
        return (err as UnauthorizedError).reasonCode;
      }
      return 'accepted';
    };
    const cases: Array<[string | undefined, string | string[] | undefined, AuthFailureReason]> = [
      [undefined, ACME_KEY, 'missing_jwt'],
      ['Bearer', ACME_KEY, 'malformed_authorization'],
      [`Basic ${good}`, ACME_KEY, 'not_bearer'],
      ['Bearer not.a.jwt', ACME_KEY, 'malformed_jwt'],
      [`Bearer ${base64url({ alg: 'none' })}.${payload}.`, ACME_KEY, 'wrong_algorithm'],
      [`Bearer ${sign(claims, 'another-secret-0123456789-abcdefghij')}`, ACME_KEY, 'bad_signature'],
      [`Bearer ${header}.${payload}.${'A'.repeat(43)}`, ACME_KEY, 'bad_signature'],
      [`Bearer ${sign({ ...claims, exp: now - 60 }, SECRET)}`, ACME_KEY, 'expired'],
      [`Bearer ${sign({ ...claims, nbf: now + 60 }, SECRET)}`, ACME_KEY, 'not_yet_valid'],
      [`Bearer ${sign({ ...claims, iss: 'https://evil.example' }, SECRET)}`, ACME_KEY, 'wrong_issuer'],
      [`Bearer ${sign({ ...claims, aud: 'other' }, SECRET)}`, ACME_KEY, 'wrong_audience'],
      [`Bearer ${sign({ ...claims, sub: undefined }, SECRET)}`, ACME_KEY, 'invalid_claims'],
      [`Bearer ${good}`, undefined, 'missing_api_key'],
      [`Bearer ${good}`, 'key with spaces', 'malformed_api_key'],
      [`Bearer ${good}`, 'lk_other', 'unknown_api_key'],
      [`Bearer ${good}`, REVOKED_KEY, 'revoked_api_key'],
    ];
    expect(cases.map(([authorization, apiKey]) => codeOf(authorization, apiKey))).toEqual(
      cases.map(([, , code]) => code),
    );
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

describe('public-key algorithms accept only themselves', () => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const rsaAuth = authenticator({
    ...jwtPublicKey(pem(rsa.publicKey)),
    keySource: 'JWT_PUBLIC_KEY',
    clockToleranceSeconds: 5,
  });
  const ecAuth = authenticator({
    ...jwtPublicKey(pem(ec.publicKey)),
    keySource: 'JWT_PUBLIC_KEY',
    clockToleranceSeconds: 5,
  });

  test('RS256 and ES256 tokens signed by the configured key pass', () => {
    const rs = sign({ sub: 'alice' }, rsa.privateKey, { algorithm: 'RS256' });
    const es = sign({ sub: 'alice' }, ec.privateKey, { algorithm: 'ES256' });
    expect(rsaAuth.authenticate(`Bearer ${rs}`, ACME_KEY).subject).toBe('alice');
    expect(ecAuth.authenticate(`Bearer ${es}`, ACME_KEY).subject).toBe('alice');
  });

  test('an HS256 token whose secret is the public key PEM is refused', () => {
    const unsigned = `${base64url({ alg: 'HS256', typ: 'JWT' })}.${base64url({ sub: 'mallory' })}`;
    const forged = `${unsigned}.${createHmac('sha256', pem(rsa.publicKey)).update(unsigned).digest('base64url')}`;
    expect(reasonOf(() => rsaAuth.authenticate(`Bearer ${forged}`, ACME_KEY))).toBe('JWT rejected: invalid algorithm');
  });

  test('another algorithm on the same key, or the other family, is refused', () => {
    const ps = sign({ sub: 'alice' }, rsa.privateKey, { algorithm: 'PS256' });
    const es = sign({ sub: 'alice' }, ec.privateKey, { algorithm: 'ES256' });
    const rs = sign({ sub: 'alice' }, rsa.privateKey, { algorithm: 'RS256' });
    expect(reasonOf(() => rsaAuth.authenticate(`Bearer ${ps}`, ACME_KEY))).toBe('JWT rejected: invalid algorithm');
    expect(reasonOf(() => rsaAuth.authenticate(`Bearer ${es}`, ACME_KEY))).toBe('JWT rejected: invalid algorithm');
    expect(reasonOf(() => ecAuth.authenticate(`Bearer ${rs}`, ACME_KEY))).toBe('JWT rejected: invalid algorithm');
    expect(reasonOf(() => authenticator().authenticate(`Bearer ${rs}`, ACME_KEY))).toBe(
      'JWT rejected: invalid algorithm',
    );
  });
});

describe('jwtPublicKey', () => {
  test('RSA → RS256, EC P-256 → ES256; a one-line PEM with literal \\n works', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    expect(jwtPublicKey(pem(rsa.publicKey)).algorithm).toBe('RS256');
    expect(jwtPublicKey(pem(ec.publicKey).replace(/\n/g, '\\n')).algorithm).toBe('ES256');
    const pkcs1 = rsa.publicKey.export({ type: 'pkcs1', format: 'pem' }).toString();
    expect(jwtPublicKey(pkcs1).key.asymmetricKeyType).toBe('rsa');
  });

  test.each<[string, () => string, string]>([
    ['garbage', () => 'not a key', 'is not a PEM public key'],
    [
      'a private key',
      () =>
        generateKeyPairSync('ec', { namedCurve: 'P-256' })
          .privateKey.export({ type: 'pkcs8', format: 'pem' })
          .toString(),
      'holds a private key; configure the public key only',
    ],
    [
      'a short RSA key',
      () => pem(generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey),
      'is an RSA key of 1024 bits; at least 2048 are required',
    ],
    [
      'an EC key on P-384',
      () => pem(generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey),
      'is an EC key on curve secp384r1; only RSA (RS256) and EC P-256 (ES256) keys are supported',
    ],
    [
      'an Ed25519 key',
      () => pem(generateKeyPairSync('ed25519').publicKey),
      'is a key of type ed25519; only RSA (RS256) and EC P-256 (ES256) keys are supported',
    ],
  ])('refuses %s', (_name, makePem, message) => {
    expect(() => jwtPublicKey(makePem())).toThrow(message);
  });
});
