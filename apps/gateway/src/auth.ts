import { createHash, createPublicKey, createSecretKey, type KeyObject, timingSafeEqual } from 'node:crypto';
import { JsonWebTokenError, NotBeforeError, TokenExpiredError, verify, type VerifyOptions } from 'jsonwebtoken';
import { z } from 'zod';
import { type AuthFailureReason, ForbiddenError, UnauthorizedError } from './errors';

/** JWT algorithms the gateway can be configured for (SPEC: HS256, RS256, ES256; never `none`). */
export const JWT_ALGORITHMS = ['HS256', 'RS256', 'ES256'] as const;
/** One of {@link JWT_ALGORITHMS}. */
export type JwtAlgorithm = (typeof JWT_ALGORITHMS)[number];

/** How tokens are verified (the gateway's `JWT_*` variables, parsed once). */
export interface JwtVerification {
  /** The one algorithm tokens may use; every other (`none` included) is refused. */
  algorithm: JwtAlgorithm;
  /** HS256 secret or RS256/ES256 public key, built once: jsonwebtoken re-parses a string key on every verify. */
  key: KeyObject;
  /** Which variable the key came from, for the start-up log (never the key itself). */
  keySource: 'JWT_SECRET' | 'JWT_PUBLIC_KEY' | 'built-in development secret';
  /** Seconds of clock skew allowed on `exp` and `nbf`. */
  clockToleranceSeconds: number;
  /** Required `iss` claim, when set. */
  issuer?: string;
  /** Required `aud` claim, when set. */
  audience?: string;
}

/** What the authenticator checks credentials against. */
export interface AuthSettings {
  jwt: JwtVerification;
  /** Accepted API keys, as hashes only. */
  apiKeys: readonly ApiKeyRecord[];
}

/** One accepted API key, as configured: its hash, never the key itself. */
export interface ApiKeyRecord {
  /** Name for logs and audit (`acme-1`); not a secret. */
  id: string;
  /** Lowercase hex of sha256(key). */
  sha256: string;
  orgId: string;
  /** Locks the organization may manage with this key; `*` is every lock. */
  locks: readonly number[] | '*';
  /** A revoked key stays in the file for the record but authenticates nothing. */
  revoked?: boolean;
}

/** Who is calling, once both credentials checked out. */
export interface Principal {
  /** JWT `sub`. */
  subject: string;
  /** JWT `org`, when the token carries one. */
  orgClaim: string | undefined;
  apiKeyId: string;
  orgId: string;
}

/** Checks credentials (401) and permissions (403); knows nothing about HTTP frameworks. */
export interface Authenticator {
  /** Throws {@link UnauthorizedError} unless both the bearer JWT and the API key are valid. */
  authenticate(authorization: string | undefined, apiKey: string | string[] | undefined): Principal;
  /** Throws {@link ForbiddenError} unless the token's organization is the key's and (given `lockId`) the key may manage it. */
  authorize(principal: Principal, lockId?: number): void;
}

/** sha256 of a presented API key, as lowercase hex (the form `API_KEYS_FILE` stores). */
export function sha256Hex(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

/** An HS256 verification key from a shared secret. */
export function jwtSecretKey(secret: string): KeyObject {
  return createSecretKey(Buffer.from(secret, 'utf8'));
}

// jsonwebtoken refuses smaller RSA keys at verify time; refusing them at start-up says why.
const MIN_RSA_BITS = 2048;

/**
 * An RS256/ES256 verification key from a PEM public key (SPKI, PKCS#1 or an X.509 certificate); the
 * algorithm follows from the key: RSA → RS256, EC P-256 → ES256. Literal `\n` sequences (a PEM squeezed
 * into one env line) are read as newlines. Throws an Error whose one-line message says what is wrong.
 */
export function jwtPublicKey(pem: string): { algorithm: 'RS256' | 'ES256'; key: KeyObject } {
  const text = pem.includes('-----BEGIN') && !pem.includes('\n') ? pem.replace(/\\n/g, '\n') : pem;
  // createPublicKey would quietly derive the public half; a private key has no business in the gateway.
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text)) {
    throw new Error('holds a private key; configure the public key only');
  }
  let key: KeyObject;
  try {
    key = createPublicKey(text);
  } catch {
    throw new Error('is not a PEM public key');
  }
  const { asymmetricKeyType: type, asymmetricKeyDetails: details } = key;
  if (type === 'rsa') {
    if ((details?.modulusLength ?? 0) < MIN_RSA_BITS) {
      throw new Error(`is an RSA key of ${details?.modulusLength ?? '?'} bits; at least ${MIN_RSA_BITS} are required`);
    }
    return { algorithm: 'RS256', key };
  }
  if (type === 'ec' && details?.namedCurve === 'prime256v1') return { algorithm: 'ES256', key };
  const what =
    type === 'ec' ? `an EC key on curve ${details?.namedCurve ?? '?'}` : `a key of type ${type ?? 'unknown'}`;
  throw new Error(`is ${what}; only RSA (RS256) and EC P-256 (ES256) keys are supported`);
}

// Printable ASCII without spaces; anything else (including two joined headers) is malformed.
const API_KEY_FORMAT = /^[\x21-\x7e]{1,256}$/;
const BEARER = /^(\S+) +(\S+)$/;
// Real tokens are well under 2 KiB; a bigger one is refused before any base64 or JSON work.
const MAX_TOKEN_LENGTH = 8192;

const LOCKS_MESSAGE = 'locks must be "*" or an array of positive integer lock ids';
const lockInFile = z
  .number({ error: LOCKS_MESSAGE })
  .int(LOCKS_MESSAGE)
  .positive(LOCKS_MESSAGE)
  .max(Number.MAX_SAFE_INTEGER, LOCKS_MESSAGE);

/** One entry of `API_KEYS_FILE`; the CLI checks the entries it prints with the same schema. */
export const apiKeyEntrySchema = z.strictObject({
  id: z.string({ error: 'id must be a string' }).min(1, 'id must not be empty').max(128, 'id is too long'),
  sha256: z
    .string({ error: 'sha256 must be a string' })
    .regex(/^[0-9a-fA-F]{64}$/, 'sha256 must be 64 hexadecimal characters')
    .transform((hex) => hex.toLowerCase()),
  orgId: z.string({ error: 'orgId must be a string' }).min(1, 'orgId must not be empty').max(128, 'orgId is too long'),
  locks: z.union([z.literal('*'), z.array(lockInFile, { error: LOCKS_MESSAGE })], { error: LOCKS_MESSAGE }),
  revoked: z.boolean({ error: 'revoked must be true or false' }).optional(),
});

const apiKeysFileSchema = z.object({
  keys: z.array(z.unknown(), { error: 'must be an object with a "keys" array' }).min(1, 'keys must not be empty'),
});

/**
 * Parses the content of `API_KEYS_FILE`: `{ "keys": [ { id, sha256, orgId, locks, revoked? } ] }`.
 * Throws an Error whose one-line message names every offending entry by index and id.
 */
export function parseApiKeysFile(content: string): ApiKeyRecord[] {
  let raw: unknown;
  try {
    raw = JSON.parse(content);
  } catch {
    throw new Error('is not valid JSON');
  }
  const file = apiKeysFileSchema.safeParse(raw);
  if (!file.success) throw new Error(file.error.issues.map((issue) => issue.message).join('; '));

  const records: ApiKeyRecord[] = [];
  const problems: string[] = [];
  const seenIds = new Map<string, number>();
  const seenHashes = new Map<string, number>();
  file.data.keys.forEach((entry, index) => {
    const id = typeof entry === 'object' && entry !== null ? (entry as { id?: unknown }).id : undefined;
    const where = typeof id === 'string' ? `keys[${index}] (id ${JSON.stringify(id)})` : `keys[${index}]`;
    const parsed = apiKeyEntrySchema.safeParse(entry);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        const message =
          issue.code === 'unrecognized_keys' ? `unknown properties: ${issue.keys.join(', ')}` : issue.message;
        problems.push(`${where}: ${message}`);
      }
      return;
    }
    const record = parsed.data;
    const idAt = seenIds.get(record.id);
    if (idAt !== undefined) problems.push(`${where}: duplicate id (also keys[${idAt}])`);
    else seenIds.set(record.id, index);
    const hashAt = seenHashes.get(record.sha256);
    if (hashAt !== undefined) problems.push(`${where}: duplicate sha256 (also keys[${hashAt}])`);
    else seenHashes.set(record.sha256, index);
    records.push(record);
  });
  if (problems.length > 0) throw new Error(problems.join('; '));
  return records;
}

/** The bounded reason of a jsonwebtoken rejection, from its message (the library has no error codes). */
function jwtFailureReason(message: string): AuthFailureReason {
  if (message === 'invalid signature') return 'bad_signature';
  if (message === 'jwt malformed' || message === 'invalid token' || message === 'jwt must be provided') {
    return 'malformed_jwt';
  }
  // An unsigned token (`alg: none`) or one signed with an algorithm the configuration did not name.
  if (message === 'invalid algorithm' || message === 'jwt signature is required' || message.includes('"none"')) {
    return 'wrong_algorithm';
  }
  if (message.startsWith('jwt issuer invalid')) return 'wrong_issuer';
  if (message.startsWith('jwt audience invalid')) return 'wrong_audience';
  if (message === 'invalid exp value' || message === 'invalid nbf value') return 'invalid_claims';
  return 'invalid_jwt';
}

/** Builds the authenticator once: the verify options and the hash table are made here, not per request. */
export function createAuthenticator(config: AuthSettings): Authenticator {
  const { key: jwtKey, algorithm } = config.jwt;
  const verifyOptions: VerifyOptions & { complete?: false } = {
    algorithms: [algorithm],
    clockTolerance: config.jwt.clockToleranceSeconds,
    ...(config.jwt.issuer !== undefined && { issuer: config.jwt.issuer }),
    ...(config.jwt.audience !== undefined && { audience: config.jwt.audience }),
  };
  const apiKeys = config.apiKeys.map((record) => ({
    record,
    digest: Buffer.from(record.sha256, 'hex'),
    locks: record.locks === '*' ? ('*' as const) : new Set(record.locks),
  }));
  const apiKeysById = new Map(apiKeys.map((entry) => [entry.record.id, entry]));

  function verifyBearer(authorization: string | undefined): { subject: string; orgClaim: string | undefined } {
    if (authorization === undefined) throw new UnauthorizedError('Authorization header missing', 'missing_jwt');
    if (authorization.length > MAX_TOKEN_LENGTH)
      throw new UnauthorizedError('Authorization header too long', 'malformed_authorization');
    const match = BEARER.exec(authorization.trim());
    if (match === null) throw new UnauthorizedError('Authorization header malformed', 'malformed_authorization');
    const [, scheme, token] = match;
    if (scheme?.toLowerCase() !== 'bearer' || token === undefined) {
      throw new UnauthorizedError('Authorization scheme is not Bearer', 'not_bearer');
    }
    let payload: unknown;
    try {
      payload = verify(token, jwtKey, verifyOptions);
    } catch (err) {
      if (err instanceof TokenExpiredError) throw new UnauthorizedError('JWT expired', 'expired');
      if (err instanceof NotBeforeError) throw new UnauthorizedError('JWT not yet valid', 'not_yet_valid');
      if (err instanceof JsonWebTokenError)
        throw new UnauthorizedError(`JWT rejected: ${err.message}`, jwtFailureReason(err.message));
      // Anything else from a parser fed hostile input is still the caller's fault, not a 500.
      throw new UnauthorizedError(`JWT unreadable: ${err instanceof Error ? err.name : typeof err}`, 'malformed_jwt');
    }
    if (typeof payload !== 'object' || payload === null)
      throw new UnauthorizedError('JWT payload is not an object', 'invalid_claims');
    const { sub, org } = payload as { sub?: unknown; org?: unknown };
    if (typeof sub !== 'string' || sub.length === 0)
      throw new UnauthorizedError('JWT sub missing or not a string', 'invalid_claims');
    if (org !== undefined && (typeof org !== 'string' || org.length === 0)) {
      throw new UnauthorizedError('JWT org claim is not a non-empty string', 'invalid_claims');
    }
    return { subject: sub, orgClaim: org };
  }

  function lookUpApiKey(apiKey: string | string[] | undefined) {
    if (apiKey === undefined) throw new UnauthorizedError('X-API-Key header missing', 'missing_api_key');
    if (typeof apiKey !== 'string' || !API_KEY_FORMAT.test(apiKey)) {
      throw new UnauthorizedError('X-API-Key header malformed', 'malformed_api_key');
    }
    const digest = createHash('sha256').update(apiKey, 'utf8').digest();
    let found: (typeof apiKeys)[number] | undefined;
    // Every entry is compared, in constant time and without an early exit: timing says nothing about the match.
    for (const entry of apiKeys) {
      if (timingSafeEqual(entry.digest, digest)) found = entry;
    }
    if (found === undefined) throw new UnauthorizedError('X-API-Key unknown', 'unknown_api_key');
    if (found.record.revoked === true)
      throw new UnauthorizedError(`X-API-Key revoked (id ${found.record.id})`, 'revoked_api_key');
    return found;
  }

  return {
    authenticate(authorization, apiKey) {
      const { subject, orgClaim } = verifyBearer(authorization);
      const { record } = lookUpApiKey(apiKey);
      return { subject, orgClaim, apiKeyId: record.id, orgId: record.orgId };
    },
    authorize(principal, lockId) {
      if (principal.orgClaim !== undefined && principal.orgClaim !== principal.orgId) {
        throw new ForbiddenError("The token's organization does not match the API key's organization");
      }
      if (lockId === undefined) return; // a route about the organization, not a lock (`/webhooks`)
      const entry = apiKeysById.get(principal.apiKeyId);
      if (entry === undefined || (entry.locks !== '*' && !entry.locks.has(lockId))) {
        throw new ForbiddenError(`This API key may not manage lock ${lockId}`);
      }
    },
  };
}
