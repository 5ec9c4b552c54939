/**
 * The hostile suite: one row per request that must be refused, over real HTTP against the real app and
 * server (createApp + createGatewayServer) backed by the real Temporal RunService: a dev server of the suite's
 * own for the hs/rs/es gateways, a port that hangs up on every connection for `down`. A recording decorator
 * lets each row assert the status, the exact error body, and which RunService methods the request was allowed
 * to reach. Afterwards the Temporal server itself is asked: no run on any lock the rows used beyond the seeded
 * ones, none cancelled, exactly one run per control request; and every gateway still answers /healthz.
 */
import { createHmac, generateKeyPairSync, type KeyObject } from 'node:crypto';
import type { OutgoingHttpHeaders } from 'node:http';
import { createServer, type Server } from 'node:net';
import { createActivities } from '@lockkeys/activities';
import { testSettings } from '@lockkeys/workflows/testing';
import { createLockkeysWorkers, type LockkeysWorkers } from '@lockkeys/workflows/worker';
import {
  BULK_ADD_KEYS_WORKFLOW,
  LOCK_QUEUE_WORKFLOW,
  taskQueues,
  type BulkAddKeysInput,
  type ErrorBody,
  MEMO_ORG_ID,
  UNAUTHORIZED_BODY,
} from '@lockkeys/contracts';
import {
  eventually,
  LOCK_ID_KEY,
  ORG_ID_KEY,
  type RawAnswer,
  sampleValue,
  parsePrometheusText,
  send,
  sendRaw,
  startTemporalDevServer,
} from '@lockkeys/testing';
import { TypedSearchAttributes } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { type JwtHeader, sign } from 'jsonwebtoken';
import { sha256Hex } from './auth';
import { type GatewayConfig, loadConfig } from './config';
import { AUTH_FAILURE_REASONS } from './errors';
import type { RunService } from './runs';
import { createTemporalRunService } from './temporal';
import { type TestApiKeysFile, writeApiKeysFile } from './testing/api-keys-file';
import { startGateway, type TestGateway } from './testing/gateway-harness';
import { RecordingRunService, type RunServiceCall } from './testing/recording-run-service';
import { answerProblems, findOperation, type OpenApiSpec, schemaCompiler } from './testing/openapi-check';

const SECRET = 'hostile-suite-secret-0123456789-abcdef';
const ISSUER = 'https://idp.lockkeys.test';
const AUDIENCE = 'lockkeys-gateway';
const ACME_KEY = 'lk_hostile_acme_00000000000000000000001';
const REVOKED_KEY = 'lk_hostile_acme_00000000000000000000002';
const GLOBEX_KEY = 'lk_hostile_globex_000000000000000000001';
const INITECH_KEY = 'lk_hostile_initech_00000000000000000001';

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const otherRsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const otherEc = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const ecP384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
const pem = (key: KeyObject) => key.export({ type: 'spki', format: 'pem' }).toString();

/** hs: HS256 with iss/aud; rs: RS256 public key; es: ES256 public key; down: HS256 with Temporal unreachable. */
type Target = 'hs' | 'rs' | 'es' | 'down';

// ---- tokens -------------------------------------------------------------------------------------------
const now = () => Math.floor(Date.now() / 1000);
const b64 = (value: unknown) =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
const hmac = (secret: string | Buffer, data: string, hash = 'sha256') =>
  createHmac(hash, secret).update(data).digest('base64url');
const hsClaims = { sub: 'alice', iss: ISSUER, aud: AUDIENCE };

/** An HS256 token the hs gateway accepts, with `claims` merged in. */
const hsToken = (claims: object = {}) =>
  sign({ ...hsClaims, exp: now() + 300, ...claims }, SECRET, { algorithm: 'HS256' });
/** A token built by hand: any header, any payload, signed with HMAC-SHA256 over `secret` (or unsigned). */
const forge = (header: object, payload: unknown, secret: string | Buffer | null = SECRET) => {
  const unsigned = `${b64(header)}.${b64(payload)}`;
  return `${unsigned}.${secret === null ? '' : hmac(secret, unsigned)}`;
};
const rsToken = (claims: object = { sub: 'alice' }) =>
  sign({ exp: now() + 300, ...claims }, rsa.privateKey, { algorithm: 'RS256' });
const esToken = (claims: object = { sub: 'alice' }) =>
  sign(claims, ec.privateKey, { algorithm: 'ES256', expiresIn: '5m' });
const bearer = (token: string) => `Bearer ${token}`;

const validToken: Record<Target, () => string> = { hs: hsToken, rs: rsToken, es: esToken, down: hsToken };

// ---- requests and expected answers --------------------------------------------------------------------
const validKeys = [
  { keyUuid: 'uuid-a', keyIndexNumber: 1, userId: 'user-1' },
  { keyUuid: 'uuid-b', keyIndexNumber: 2, userId: 'user-2' },
];
const validKey = validKeys[0]!;
const withKey = (over: Record<string, unknown>) => ({ keys: [{ ...validKey, ...over }] });
const withoutField = (field: keyof typeof validKey) => ({
  keys: [Object.fromEntries(Object.entries(validKey).filter(([name]) => name !== field))],
});

interface Hostile {
  method?: string;
  /** Default `/locks/123/BulkAddKeys`. */
  path?: string;
  /** Overrides of the valid defaults; `undefined` drops a header, an array repeats it. */
  headers?: Record<string, string | string[] | number | undefined>;
  /** An object is sent as JSON, a string or Buffer as is; `null` sends no body. POST defaults to a valid body. */
  body?: unknown;
  chunked?: boolean;
  holdOpen?: boolean;
  /** Bytes written straight to the socket instead (for what node:http would refuse to send). */
  raw?: string;
}

interface Expected {
  status: number;
  body: ErrorBody;
  /** RunService methods the request may reach (in order); none unless listed. */
  reaches?: RunServiceCall['method'][];
  /** Response headers the answer must carry (lower-case names). */
  headers?: Record<string, string>;
}

type Row = [name: string, target: Target, request: Hostile, expected: Expected];

const unauthorized: Expected = { status: 401, body: UNAUTHORIZED_BODY };
const badRequest = (message: string, details?: Array<[path: string, message: string]>): Expected => ({
  status: 400,
  body: {
    error: 'Bad Request',
    message,
    code: 400,
    ...(details !== undefined && { details: details.map(([path, text]) => ({ path, message: text })) }),
  },
});
const invalidBody = (...details: Array<[path: string, message: string]>) =>
  badRequest('Request body is invalid', details);
const notJson = badRequest('Request body is not valid JSON');
const badLockId = (message = 'lockId must be a positive decimal integer') =>
  badRequest('lockId is invalid', [['lockId', message]]);
const badIdempotencyKey = badRequest('Idempotency-Key is invalid', [
  ['Idempotency-Key', 'must be 1-255 printable ASCII characters'],
]);
const forbidden = (lockId: number): Expected => ({
  status: 403,
  body: { error: 'Forbidden', message: `This API key may not manage lock ${lockId}`, code: 403 },
});
const orgMismatch: Expected = {
  status: 403,
  body: {
    error: 'Forbidden',
    message: "The token's organization does not match the API key's organization",
    code: 403,
  },
};
const methodNotAllowed = (method: string, allow: string): Expected => ({
  status: 405,
  body: {
    error: 'Method Not Allowed',
    message: `${method} is not served here; this path serves ${allow}`,
    code: 405,
  },
  headers: { allow },
});
const badQuery = (...details: Array<[path: string, message: string]>) => badRequest('Query is invalid', details);
const badCursor = badQuery(['cursor', 'cursor is not one this API gave for this lock and status']);
const LIST_TWICE_MESSAGE = 'Invalid input: expected string, received array';
const LIST_STATUS_MESSAGE =
  'Invalid option: expected one of "queued"|"running"|"paused"|"complete"|"errored"|"cancelled"|"terminated"';
const closedRun = (action: string): Expected => ({
  status: 409,
  body: { error: 'Conflict', message: `The run has already closed; there is nothing to ${action}`, code: 409 },
  reaches: [action as RunServiceCall['method']],
});
const routeNotFound: Expected = {
  status: 404,
  body: { error: 'Not Found', message: 'The requested resource does not exist', code: 404 },
};
const runNotFound = (...reaches: RunServiceCall['method'][]): Expected => ({
  status: 404,
  body: { error: 'Not Found', message: 'No such run for this lock', code: 404 },
  reaches,
});
const unsupported = (message = 'Request body must be application/json'): Expected => ({
  status: 415,
  body: { error: 'Unsupported Media Type', message, code: 415 },
});
const tooLarge: Expected = {
  status: 413,
  body: { error: 'Payload Too Large', message: 'Request body must be at most 1048576 bytes', code: 413 },
};
const unavailable = (method: RunServiceCall['method']): Expected => ({
  status: 503,
  body: {
    error: 'Service Unavailable',
    message: 'The workflow service is unavailable; nothing was started or changed, please retry later',
    code: 503,
  },
  reaches: [method],
});
const unparsable: Expected = {
  status: 400,
  body: { error: 'Bad Request', message: 'The request could not be parsed', code: 400 },
};

const RUN = '/locks/123/BulkAddKeys/lock-123-acme-run';
const LIST = '/locks/123/BulkAddKeys';
const CANCEL = `${RUN}/cancel`;
const get = (path: string, headers: Hostile['headers'] = {}): Hostile => ({ method: 'GET', path, headers });
const cancel = (path: string, headers: Hostile['headers'] = {}): Hostile => ({
  method: 'POST',
  path,
  headers,
  body: null,
});
const auth = (name: string, authorization: string | undefined, target: Target = 'hs', request: Hostile = {}): Row => [
  name,
  target,
  { ...request, headers: { ...request.headers, authorization } },
  unauthorized,
];
const apiKey = (name: string, key: string | string[] | undefined): Row => [
  name,
  'hs',
  { headers: { 'x-api-key': key } },
  unauthorized,
];
const body = (name: string, payload: unknown, expected: Expected, headers: Hostile['headers'] = {}): Row => [
  name,
  'hs',
  { body: payload, headers },
  expected,
];
const rawPost = (headers: string[], bodyText: string) =>
  ['POST /locks/123/BulkAddKeys HTTP/1.1', 'Host: 127.0.0.1', ...headers, '', bodyText].join('\r\n');

const tamperedSub = (() => {
  const [header, , signature] = hsToken().split('.');
  return `${header}.${b64({ ...hsClaims, sub: 'mallory', exp: now() + 300 })}.${signature}`;
})();
const algSwappedHeader = (() => {
  const [, payload, signature] = hsToken().split('.');
  return `${b64({ alg: 'HS384', typ: 'JWT' })}.${payload}.${signature}`;
})();
const manyBadKeys = Array.from({ length: 600 }, (_, i) => ({
  keyUuid: `u${i}`,
  keyIndexNumber: -(i + 1),
  userId: 'u',
}));

const rows: Row[] = [
  // ---- 401: authentication, on every route, before anything else is looked at -----------------------
  auth('no Authorization header', undefined),
  auth('empty Authorization header', ''),
  auth('Bearer without a token', 'Bearer'),
  auth('Bearer with two tokens', `Bearer ${hsToken()} ${hsToken()}`),
  auth('Basic scheme', 'Basic YWxpY2U6c2VjcmV0'),
  auth('Token scheme with a valid JWT', `Token ${hsToken()}`),
  auth('valid JWT without a scheme', hsToken()),
  auth('not a JWT', 'Bearer not-a-jwt'),
  auth('JWT with two segments', bearer(hsToken().split('.').slice(0, 2).join('.'))),
  auth('JWT with four segments', bearer(`${hsToken()}.extra`)),
  auth('header that is not base64 JSON', bearer(`%%%.${b64(hsClaims)}.${hmac(SECRET, 'x')}`)),
  auth('payload that is not JSON, correctly signed', bearer(forge({ alg: 'HS256', typ: 'JWT' }, 'not json'))),
  auth('payload that is a JSON array, correctly signed', bearer(forge({ alg: 'HS256', typ: 'JWT' }, [hsClaims]))),
  auth(
    'signed with another secret',
    bearer(sign(hsClaims, 'another-secret-0123456789-abcdefghij', { expiresIn: '5m' })),
  ),
  auth('signature removed', bearer(hsToken().replace(/[^.]+$/, ''))),
  auth('tampered payload: sub changed, signature kept', bearer(tamperedSub)),
  auth('tampered header: alg changed to HS384, signature kept', bearer(algSwappedHeader)),
  auth('expired a minute ago', bearer(hsToken({ exp: now() - 60 }))),
  auth('expired just beyond the 5 s tolerance', bearer(hsToken({ exp: now() - 15 }))),
  auth('not valid before a minute from now (nbf)', bearer(hsToken({ nbf: now() + 60 }))),
  auth('exp that is not a number', bearer(forge({ alg: 'HS256' }, { ...hsClaims, exp: 'tomorrow' }))),
  auth('nbf that is not a number', bearer(forge({ alg: 'HS256' }, { ...hsClaims, nbf: 'now' }))),
  auth('alg none without a signature', bearer(forge({ alg: 'none', typ: 'JWT' }, hsClaims, null))),
  auth('alg none with a signature', bearer(forge({ alg: 'none', typ: 'JWT' }, hsClaims))),
  auth('alg NONE in capitals', bearer(forge({ alg: 'NONE', typ: 'JWT' }, hsClaims, null))),
  auth('HS512 with the right secret', bearer(sign(hsClaims, SECRET, { algorithm: 'HS512' }))),
  auth('HS384 with the right secret', bearer(sign(hsClaims, SECRET, { algorithm: 'HS384' }))),
  auth('RS256 token when HS256 is configured', bearer(rsToken(hsClaims))),
  auth('ES256 token when HS256 is configured', bearer(esToken(hsClaims))),
  auth(
    'kid path traversal, signed with an empty secret',
    bearer(forge({ alg: 'HS256', kid: '../../../../dev/null' }, hsClaims, '')),
  ),
  auth('wrong issuer', bearer(hsToken({ iss: 'https://evil.example' }))),
  auth('no issuer', bearer(sign({ sub: 'alice', aud: AUDIENCE }, SECRET, { expiresIn: '5m' }))),
  auth('wrong audience', bearer(hsToken({ aud: 'someone-else' }))),
  auth('no audience', bearer(sign({ sub: 'alice', iss: ISSUER }, SECRET, { expiresIn: '5m' }))),
  auth('audience list without ours', bearer(hsToken({ aud: ['a', 'b'] }))),
  auth('no sub', bearer(sign({ iss: ISSUER, aud: AUDIENCE }, SECRET, { expiresIn: '5m' }))),
  auth('empty sub', bearer(hsToken({ sub: '' }))),
  auth('numeric sub', bearer(forge({ alg: 'HS256' }, { ...hsClaims, sub: 42 }))),
  auth('sub that is an object', bearer(forge({ alg: 'HS256' }, { ...hsClaims, sub: { id: 'alice' } }))),
  auth('org claim that is not a string', bearer(hsToken({ org: ['acme'] }))),
  auth('empty org claim', bearer(hsToken({ org: '' }))),
  auth('token over 8 KiB, correctly signed', bearer(hsToken({ padding: 'x'.repeat(9000) }))),
  apiKey('no X-API-Key header', undefined),
  apiKey('empty X-API-Key', ''),
  apiKey('unknown API key', 'lk_nobody_knows_me_0000000000000000'),
  apiKey('revoked API key', REVOKED_KEY),
  apiKey('API key in other letter case', ACME_KEY.toUpperCase()),
  apiKey('the sha256 of the key instead of the key', sha256Hex(ACME_KEY)),
  apiKey('API key with a space inside', `${ACME_KEY.slice(0, 10)} ${ACME_KEY.slice(10)}`),
  apiKey('API key of 300 characters', `${ACME_KEY}${'0'.repeat(300 - ACME_KEY.length)}`),
  apiKey('API key with Latin-1 characters', 'lk_cl\u00e9_secr\u00e8te'),
  apiKey('X-API-Key sent twice', [ACME_KEY, ACME_KEY]),
  apiKey('API key with one character more', `${ACME_KEY}0`),
  apiKey('API key with one character less', ACME_KEY.slice(0, -1)),
  auth(
    'rs: HS256 token signed with the public key PEM as secret',
    bearer(forge({ alg: 'HS256', typ: 'JWT' }, { sub: 'mallory' }, pem(rsa.publicKey))),
    'rs',
  ),
  auth('rs: alg none', bearer(forge({ alg: 'none' }, { sub: 'mallory' }, null)), 'rs'),
  auth(
    'rs: RS256 signed by another key',
    bearer(sign({ sub: 'alice' }, otherRsa.privateKey, { algorithm: 'RS256' })),
    'rs',
  ),
  auth(
    'rs: RS256 by another key that it embeds as jwk',
    bearer(
      sign({ sub: 'alice' }, otherRsa.privateKey, {
        algorithm: 'RS256',
        header: { alg: 'RS256', jwk: otherRsa.publicKey.export({ format: 'jwk' }) } as JwtHeader,
      }),
    ),
    'rs',
  ),
  auth('rs: PS256 with the right key', bearer(sign({ sub: 'alice' }, rsa.privateKey, { algorithm: 'PS256' })), 'rs'),
  auth('rs: RS512 with the right key', bearer(sign({ sub: 'alice' }, rsa.privateKey, { algorithm: 'RS512' })), 'rs'),
  auth('rs: ES256 token', bearer(esToken()), 'rs'),
  auth('rs: HS256 token with a shared secret', bearer(sign({ sub: 'alice' }, SECRET)), 'rs'),
  auth('rs: expired RS256 token', bearer(rsToken({ sub: 'alice', exp: now() - 60 })), 'rs'),
  auth('rs: RS256 token without sub', bearer(rsToken({ org: 'acme' })), 'rs'),
  auth(
    'es: ES256 signed by another key',
    bearer(sign({ sub: 'alice' }, otherEc.privateKey, { algorithm: 'ES256' })),
    'es',
  ),
  auth(
    'es: HS256 token signed with the public key PEM as secret',
    bearer(forge({ alg: 'HS256' }, { sub: 'mallory' }, pem(ec.publicKey))),
    'es',
  ),
  auth('es: RS256 token', bearer(rsToken()), 'es'),
  auth('es: ES384 token', bearer(sign({ sub: 'alice' }, ecP384.privateKey, { algorithm: 'ES384' })), 'es'),
  auth('es: alg none', bearer(forge({ alg: 'none' }, { sub: 'mallory' }, null)), 'es'),
  ['GET: no credentials at all', 'hs', get(RUN, { authorization: undefined, 'x-api-key': undefined }), unauthorized],
  ['GET: expired JWT', 'hs', get(RUN, { authorization: bearer(hsToken({ exp: now() - 60 })) }), unauthorized],
  ['GET: unknown API key', 'hs', get(RUN, { 'x-api-key': 'lk_nobody_knows_me' }), unauthorized],
  ['cancel: no Authorization', 'hs', cancel(CANCEL, { authorization: undefined }), unauthorized],
  ['cancel: revoked API key', 'hs', cancel(CANCEL, { 'x-api-key': REVOKED_KEY }), unauthorized],
  [
    'cancel: alg none',
    'hs',
    cancel(CANCEL, { authorization: bearer(forge({ alg: 'none' }, hsClaims, null)) }),
    unauthorized,
  ],
  [
    '401 comes before a bad lockId',
    'hs',
    { path: '/locks/abc/BulkAddKeys', headers: { 'x-api-key': undefined } },
    unauthorized,
  ],
  [
    '401 comes before a bad body',
    'hs',
    { headers: { authorization: undefined, 'content-type': 'text/plain' }, body: '{oops' },
    unauthorized,
  ],
  ['401 for any path under /locks', 'hs', get('/locks/123/whatever', { authorization: undefined }), unauthorized],
  [
    '401 comes before a bad instanceId',
    'hs',
    get('/locks/123/BulkAddKeys/%21%21', { 'x-api-key': undefined }),
    unauthorized,
  ],
  [
    'down: bad credentials are 401 without asking Temporal',
    'down',
    { headers: { 'x-api-key': undefined } },
    unauthorized,
  ],

  // ---- 403: authenticated, not allowed ---------------------------------------------------------------
  ['lock not in the API key list', 'hs', { path: '/locks/999/BulkAddKeys' }, forbidden(999)],
  ["another organization's key on acme's lock", 'hs', { headers: { 'x-api-key': GLOBEX_KEY } }, forbidden(123)],
  [
    'org claim of another organization',
    'hs',
    { headers: { authorization: bearer(hsToken({ org: 'globex' })) } },
    orgMismatch,
  ],
  [
    'org claim mismatch even with a wildcard key',
    'hs',
    { headers: { authorization: bearer(hsToken({ org: 'acme' })), 'x-api-key': INITECH_KEY } },
    orgMismatch,
  ],
  ['GET on a lock not in the list', 'hs', get('/locks/999/BulkAddKeys/lock-999-x'), forbidden(999)],
  ['cancel on a lock not in the list', 'hs', cancel('/locks/999/BulkAddKeys/lock-999-x/cancel'), forbidden(999)],
  [
    'GET with an org claim of another organization',
    'hs',
    get(RUN, { authorization: bearer(hsToken({ org: 'initech' })) }),
    orgMismatch,
  ],
  ['403 comes before the body', 'hs', { path: '/locks/999/BulkAddKeys', body: '{oops' }, forbidden(999)],
  ['403 comes before the instanceId', 'hs', get('/locks/999/BulkAddKeys/%21'), forbidden(999)],

  // ---- 400: lockId --------------------------------------------------------------------------------------
  ...[
    'abc',
    '0',
    '-1',
    '1e3',
    '0x10',
    '12abc',
    '007',
    '1.5',
    '%2012',
    '+5',
    '99999999999999999999',
    '%00',
    '%EF%BC%91%EF%BC%92',
  ].map((lockId): Row => [
    `lockId ${decodeURIComponent(lockId)}`,
    'hs',
    { path: `/locks/${lockId}/BulkAddKeys` },
    badLockId(),
  ]),
  [
    'lockId 2^53',
    'hs',
    { path: '/locks/9007199254740992/BulkAddKeys' },
    badLockId('lockId must be at most 9007199254740991'),
  ],
  ['GET with lockId 0', 'hs', get('/locks/0/BulkAddKeys/lock-123-acme-run'), badLockId()],
  ['cancel with lockId -1', 'hs', cancel('/locks/-1/BulkAddKeys/lock-123-acme-run/cancel'), badLockId()],
  ['empty lockId', 'hs', { path: '/locks//BulkAddKeys' }, routeNotFound],

  // ---- transport: content type, encoding, size, framing -------------------------------------------------
  ['text/plain', 'hs', { headers: { 'content-type': 'text/plain' } }, unsupported()],
  ['no content type', 'hs', { headers: { 'content-type': undefined } }, unsupported()],
  ['application/json-patch+json', 'hs', { headers: { 'content-type': 'application/json-patch+json' } }, unsupported()],
  ['multipart/form-data', 'hs', { headers: { 'content-type': 'multipart/form-data; boundary=x' } }, unsupported()],
  [
    'form-urlencoded',
    'hs',
    { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'keys=1' },
    unsupported(),
  ],
  ['application/jsonx', 'hs', { headers: { 'content-type': 'application/jsonx' } }, unsupported()],
  [
    'charset iso-8859-1',
    'hs',
    { headers: { 'content-type': 'application/json; charset=iso-8859-1' } },
    unsupported('Request body must be UTF-8 encoded JSON'),
  ],
  [
    'charset utf-16le',
    'hs',
    { headers: { 'content-type': 'application/json; charset=utf-16le' } },
    unsupported('Request body must be UTF-8 encoded JSON'),
  ],
  [
    'gzip content encoding',
    'hs',
    { headers: { 'content-encoding': 'gzip' } },
    unsupported('Request body must not be compressed'),
  ],
  [
    'br content encoding',
    'hs',
    { headers: { 'content-encoding': 'br' } },
    unsupported('Request body must not be compressed'),
  ],
  [
    'body one byte over MAX_BODY_BYTES',
    'hs',
    { body: `{"keys":[],"pad":"${'x'.repeat(1024 * 1024 - 19)}"}` },
    tooLarge,
  ],
  [
    'oversize body sent chunked, without Content-Length',
    'hs',
    { body: JSON.stringify({ keys: [{ keyUuid: 'x'.repeat(2 * 1024 * 1024) }] }), chunked: true },
    tooLarge,
  ],
  [
    '50 MB declared, 8 bytes sent, request held open: 413 at once',
    'hs',
    { headers: { 'content-length': 50_000_000 }, body: '{"keys":', holdOpen: true },
    tooLarge,
  ],
  ['truncated JSON', 'hs', { body: '{"keys":[{"keyUuid":"a","keyIndexNumber":1,' }, notJson],
  ['JSON with single quotes', 'hs', { body: "{'keys': []}" }, notJson],
  ['trailing garbage after the JSON', 'hs', { body: `${JSON.stringify({ keys: validKeys })}x` }, notJson],
  ['NaN literal', 'hs', { body: '{"keys":[{"keyUuid":"a","keyIndexNumber":NaN,"userId":"u"}]}' }, notJson],
  [
    'non-UTF-8 bytes in a string',
    'hs',
    {
      body: Buffer.concat([
        Buffer.from('{"keys":[{"keyUuid":"'),
        Buffer.from([0xff, 0xfe, 0xc3]),
        Buffer.from('","keyIndexNumber":1,"userId":"u"}]}'),
      ]),
    },
    badRequest('Request body is not valid UTF-8'),
  ],
  [
    'UTF-16 bytes without a charset',
    'hs',
    { body: Buffer.from(JSON.stringify({ keys: validKeys }), 'utf16le') },
    notJson,
  ],
  [
    'Content-Length larger than the body, then the connection half-closed',
    'hs',
    {
      raw: rawPost(
        [
          `Authorization: ${bearer(hsToken())}`,
          `X-API-Key: ${ACME_KEY}`,
          'Content-Type: application/json',
          'Content-Length: 100',
        ],
        '{"keys":[{"keyUuid"',
      ),
    },
    unparsable,
  ],
  ['request line that is not HTTP', 'hs', { raw: 'HELLO THERE\r\n\r\n' }, unparsable],
  [
    'header line without a colon',
    'hs',
    { raw: rawPost(['this is not a header', 'Content-Length: 0'], '') },
    unparsable,
  ],
  [
    'headers over 16 KiB',
    'hs',
    { raw: rawPost([`Authorization: Bearer ${'a'.repeat(20_000)}`, 'Content-Length: 0'], '') },
    {
      status: 431,
      body: { error: 'Request Header Fields Too Large', message: 'Request headers are too large', code: 431 },
    },
  ],

  // ---- Idempotency-Key -------------------------------------------------------------------------------------
  ['empty Idempotency-Key', 'hs', { headers: { 'idempotency-key': '' } }, badIdempotencyKey],
  ['Idempotency-Key of 256 characters', 'hs', { headers: { 'idempotency-key': 'k'.repeat(256) } }, badIdempotencyKey],
  ['Idempotency-Key with a tab', 'hs', { headers: { 'idempotency-key': 'order\t42' } }, badIdempotencyKey],
  [
    'Idempotency-Key with Latin-1 characters',
    'hs',
    { headers: { 'idempotency-key': 'commande-\u00e9t\u00e9' } },
    badIdempotencyKey,
  ],
  [
    'Idempotency-Key reused with a different body',
    'hs',
    { headers: { 'idempotency-key': 'order-1' }, body: { keys: [validKey] } },
    {
      status: 409,
      body: { error: 'Conflict', message: 'Idempotency-Key was already used with a different request', code: 409 },
      reaches: ['start'],
    },
  ],

  // ---- 400: body -------------------------------------------------------------------------------------
  body('empty body', '', invalidBody(['keys', 'keys is required'])),
  body('empty object', {}, invalidBody(['keys', 'keys is required'])),
  body('no keys', { keys: [] }, invalidBody(['keys', 'keys must hold at least 1 key'])),
  body('keys null', { keys: null }, invalidBody(['keys', 'keys must be an array'])),
  body('keys a string', { keys: 'uuid-a' }, invalidBody(['keys', 'keys must be an array'])),
  body('keys an object', { keys: validKey }, invalidBody(['keys', 'keys must be an array'])),
  body('keys an object with index names', { keys: { 0: validKey } }, invalidBody(['keys', 'keys must be an array'])),
  body('body an array', [validKey], invalidBody(['', 'body must be a JSON object'])),
  body('body a string', '"keys"', invalidBody(['', 'body must be a JSON object'])),
  body('body null', 'null', invalidBody(['', 'body must be a JSON object'])),
  body('body a number', '42', invalidBody(['', 'body must be a JSON object'])),
  body('body true', 'true', invalidBody(['', 'body must be a JSON object'])),
  body('key null', { keys: [null] }, invalidBody(['keys.0', 'each key must be an object'])),
  body('key a number', { keys: [7] }, invalidBody(['keys.0', 'each key must be an object'])),
  body(
    'key an array (array where an object goes)',
    { keys: [[validKey]] },
    invalidBody(['keys.0', 'each key must be an object']),
  ),
  body('key a string', { keys: ['uuid-a'] }, invalidBody(['keys.0', 'each key must be an object'])),
  body(
    'key with every field missing',
    { keys: [{}] },
    invalidBody(
      ['keys.0.keyUuid', 'keyUuid is required'],
      ['keys.0.keyIndexNumber', 'keyIndexNumber is required'],
      ['keys.0.userId', 'userId is required'],
    ),
  ),
  body('keyUuid missing', withoutField('keyUuid'), invalidBody(['keys.0.keyUuid', 'keyUuid is required'])),
  body(
    'keyIndexNumber missing',
    withoutField('keyIndexNumber'),
    invalidBody(['keys.0.keyIndexNumber', 'keyIndexNumber is required']),
  ),
  body('userId missing', withoutField('userId'), invalidBody(['keys.0.userId', 'userId is required'])),
  body('keyUuid a number', withKey({ keyUuid: 5 }), invalidBody(['keys.0.keyUuid', 'keyUuid must be a string'])),
  body('keyUuid null', withKey({ keyUuid: null }), invalidBody(['keys.0.keyUuid', 'keyUuid must be a string'])),
  body('keyUuid an array', withKey({ keyUuid: ['a'] }), invalidBody(['keys.0.keyUuid', 'keyUuid must be a string'])),
  body(
    'keyIndexNumber a string',
    withKey({ keyIndexNumber: '1' }),
    invalidBody(['keys.0.keyIndexNumber', 'keyIndexNumber must be a number']),
  ),
  body(
    'keyIndexNumber null',
    withKey({ keyIndexNumber: null }),
    invalidBody(['keys.0.keyIndexNumber', 'keyIndexNumber must be a number']),
  ),
  body(
    'keyIndexNumber true',
    withKey({ keyIndexNumber: true }),
    invalidBody(['keys.0.keyIndexNumber', 'keyIndexNumber must be a number']),
  ),
  body(
    'keyIndexNumber 1.5',
    withKey({ keyIndexNumber: 1.5 }),
    invalidBody(['keys.0.keyIndexNumber', 'keyIndexNumber must be an integer']),
  ),
  body(
    'keyIndexNumber -1',
    withKey({ keyIndexNumber: -1 }),
    invalidBody(['keys.0.keyIndexNumber', 'keyIndexNumber must be at least 0']),
  ),
  body(
    'keyIndexNumber 65536',
    withKey({ keyIndexNumber: 65536 }),
    invalidBody(['keys.0.keyIndexNumber', 'keyIndexNumber must be at most 65535']),
  ),
  body(
    'keyIndexNumber 1e309 (Infinity)',
    '{"keys":[{"keyUuid":"a","keyIndexNumber":1e309,"userId":"u"}]}',
    invalidBody(['keys.0.keyIndexNumber', 'keyIndexNumber must be a number']),
  ),
  body(
    'keyIndexNumber 2^53',
    withKey({ keyIndexNumber: 2 ** 53 }),
    invalidBody(
      ['keys.0.keyIndexNumber', 'keyIndexNumber must be an integer'],
      ['keys.0.keyIndexNumber', 'keyIndexNumber must be at most 65535'],
    ),
  ),
  body('userId null', withKey({ userId: null }), invalidBody(['keys.0.userId', 'userId must be a string'])),
  body('userId an object', withKey({ userId: { id: 1 } }), invalidBody(['keys.0.userId', 'userId must be a string'])),
  body('keyUuid empty', withKey({ keyUuid: '' }), invalidBody(['keys.0.keyUuid', 'keyUuid must not be empty'])),
  body('userId empty', withKey({ userId: '' }), invalidBody(['keys.0.userId', 'userId must not be empty'])),
  body(
    'userId of 129 characters',
    withKey({ userId: 'u'.repeat(129) }),
    invalidBody(['keys.0.userId', 'userId must be at most 128 characters']),
  ),
  body(
    'keyUuid of 900 000 characters',
    withKey({ keyUuid: 'k'.repeat(900_000) }),
    invalidBody(['keys.0.keyUuid', 'keyUuid must be at most 128 characters']),
  ),
  body(
    'userId with NUL',
    withKey({ userId: 'bob\u0000' }),
    invalidBody(['keys.0.userId', 'userId must not contain control characters']),
  ),
  body(
    'keyUuid with a newline',
    withKey({ keyUuid: 'a\nb' }),
    invalidBody(['keys.0.keyUuid', 'keyUuid must not contain control characters']),
  ),
  body(
    'userId with DEL',
    withKey({ userId: 'bob\u007f' }),
    invalidBody(['keys.0.userId', 'userId must not contain control characters']),
  ),
  body(
    'keyUuid with a C1 control',
    withKey({ keyUuid: 'uuid\u009b' }),
    invalidBody(['keys.0.keyUuid', 'keyUuid must not contain control characters']),
  ),
  body(
    'userId with an ANSI escape',
    withKey({ userId: '\u001b[31mroot' }),
    invalidBody(['keys.0.userId', 'userId must not contain control characters']),
  ),
  body(
    'duplicate keyUuid',
    { keys: [validKey, { ...validKeys[1], keyUuid: 'uuid-a' }] },
    invalidBody(['keys.1.keyUuid', 'duplicate keyUuid (also keys.0)']),
  ),
  body(
    'duplicate keyIndexNumber',
    { keys: [validKey, { ...validKeys[1], keyIndexNumber: 1 }] },
    invalidBody(['keys.1.keyIndexNumber', 'duplicate keyIndexNumber (also keys.0)']),
  ),
  body('extra property on the body', { keys: validKeys, admin: true }, invalidBody(['admin', 'unknown property'])),
  body('extra property on a key', withKey({ lockId: 7 }), invalidBody(['keys.0.lockId', 'unknown property'])),
  body(
    '__proto__ on the body',
    `{"keys":${JSON.stringify(validKeys)},"__proto__":{"admin":true}}`,
    invalidBody(['__proto__', 'unknown property']),
  ),
  body(
    '__proto__ on a key',
    `{"keys":[{"keyUuid":"a","keyIndexNumber":1,"userId":"u","__proto__":{"admin":true}}]}`,
    invalidBody(['keys.0.__proto__', 'unknown property']),
  ),
  body(
    'constructor on the body',
    `{"keys":${JSON.stringify(validKeys)},"constructor":{"prototype":{"admin":true}}}`,
    invalidBody(['constructor', 'unknown property']),
  ),
  body(
    'constructor on a key',
    withKey({ constructor: { prototype: { admin: true } } }),
    invalidBody(['keys.0.constructor', 'unknown property']),
  ),
  body('prototype on the body', { keys: validKeys, prototype: {} }, invalidBody(['prototype', 'unknown property'])),
  body(
    'property name of 100 000 characters',
    { keys: validKeys, ['p'.repeat(100_000)]: 1 },
    invalidBody([`${'p'.repeat(64)}…`, 'unknown property']),
  ),
  body(
    '1001 keys',
    { keys: Array.from({ length: 1001 }, (_, i) => ({ keyUuid: `uuid-${i}`, keyIndexNumber: i, userId: 'u' })) },
    invalidBody(['keys', 'keys must hold at most 1000 keys']),
  ),
  body(
    'keys nested 100 000 arrays deep',
    `{"keys":${'['.repeat(100_000)}${']'.repeat(100_000)}}`,
    invalidBody(['keys.0', 'each key must be an object']),
  ),
  body(
    'extra property nested 10 000 objects deep',
    `{"keys":${JSON.stringify(validKeys)},"x":${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}}`,
    invalidBody(['x', 'unknown property']),
  ),
  body(
    '600 bad keys: the first 100 problems are listed',
    { keys: manyBadKeys },
    invalidBody(
      ...manyBadKeys
        .slice(0, 100)
        .map((_, i): [string, string] => [`keys.${i}.keyIndexNumber`, 'keyIndexNumber must be at least 0']),
    ),
  ),

  // ---- GET and cancel of runs that are not the caller's, or not runs at all ------------------------------
  ['GET: malformed instanceId', 'hs', get('/locks/123/BulkAddKeys/%21%21'), runNotFound()],
  ['GET: instanceId of 201 characters', 'hs', get(`/locks/123/BulkAddKeys/${'a'.repeat(201)}`), runNotFound()],
  ['GET: instanceId with an encoded slash', 'hs', get('/locks/123/BulkAddKeys/lock-123%2Facme-run'), runNotFound()],
  ['GET: instanceId with an encoded NUL', 'hs', get('/locks/123/BulkAddKeys/lock-123-acme-run%00'), runNotFound()],
  ['GET: instanceId with non-ASCII letters', 'hs', get('/locks/123/BulkAddKeys/lock-123-acm%C3%A9-run'), runNotFound()],
  ['GET: unknown instanceId', 'hs', get('/locks/123/BulkAddKeys/lock-123-nobody'), runNotFound('status')],
  [
    "GET: another organization's run on the same lock",
    'hs',
    get('/locks/123/BulkAddKeys/lock-123-initech-run'),
    runNotFound('status'),
  ],
  [
    'GET: own run through another allowed lock',
    'hs',
    get('/locks/124/BulkAddKeys/lock-123-acme-run'),
    runNotFound('status'),
  ],
  ['cancel: malformed instanceId', 'hs', cancel('/locks/123/BulkAddKeys/%21/cancel'), runNotFound()],
  ['cancel: unknown instanceId', 'hs', cancel('/locks/123/BulkAddKeys/lock-123-nobody/cancel'), runNotFound('cancel')],
  [
    "cancel: another organization's run",
    'hs',
    cancel('/locks/123/BulkAddKeys/lock-123-initech-run/cancel'),
    runNotFound('cancel'),
  ],
  [
    'cancel: own run through another allowed lock',
    'hs',
    cancel('/locks/124/BulkAddKeys/lock-123-acme-run/cancel'),
    runNotFound('cancel'),
  ],
  [
    'cancel: a run that already closed',
    'hs',
    cancel('/locks/123/BulkAddKeys/lock-123-acme-done/cancel'),
    {
      status: 409,
      body: { error: 'Conflict', message: 'The run has already closed; there is nothing to cancel', code: 409 },
      reaches: ['cancel'],
    },
  ],

  // ---- routes -----------------------------------------------------------------------------------------
  [
    'unknown route, no credentials',
    'hs',
    get('/nope', { authorization: undefined, 'x-api-key': undefined }),
    routeNotFound,
  ],
  ['PUT on BulkAddKeys', 'hs', { method: 'PUT' }, methodNotAllowed('PUT', 'GET, HEAD, POST')],
  [
    'PUT on BulkAddKeys without credentials: the method is checked first',
    'hs',
    { method: 'PUT', headers: { authorization: undefined, 'x-api-key': undefined } },
    methodNotAllowed('PUT', 'GET, HEAD, POST'),
  ],
  ['DELETE on a run', 'hs', { method: 'DELETE', path: RUN, body: null }, methodNotAllowed('DELETE', 'GET, HEAD')],
  ['GET on cancel', 'hs', get(CANCEL), methodNotAllowed('GET', 'POST')],
  [
    'PATCH on /healthz',
    'hs',
    { method: 'PATCH', path: '/healthz', body: null },
    methodNotAllowed('PATCH', 'GET, HEAD'),
  ],

  // ---- the listing: a strict query, a cursor of this gateway's own ----------------------------------
  ['list: limit 0', 'hs', get(`${LIST}?limit=0`), badQuery(['limit', 'limit must be a whole number from 1 to 100'])],
  [
    'list: limit 101',
    'hs',
    get(`${LIST}?limit=101`),
    badQuery(['limit', 'limit must be a whole number from 1 to 100']),
  ],
  [
    'list: limit abc',
    'hs',
    get(`${LIST}?limit=abc`),
    badQuery(['limit', 'limit must be a whole number from 1 to 100']),
  ],
  [
    'list: limit 1e1',
    'hs',
    get(`${LIST}?limit=1e1`),
    badQuery(['limit', 'limit must be a whole number from 1 to 100']),
  ],
  ['list: limit twice', 'hs', get(`${LIST}?limit=1&limit=2`), badQuery(['limit', LIST_TWICE_MESSAGE])],
  ['list: status bogus', 'hs', get(`${LIST}?status=bogus`), badQuery(['status', LIST_STATUS_MESSAGE])],
  ['list: an unknown parameter', 'hs', get(`${LIST}?page=2`), badQuery(['page', 'unknown property'])],
  ['list: an empty cursor', 'hs', get(`${LIST}?cursor=`), badQuery(['cursor', 'cursor must not be empty'])],
  ['list: a forged cursor', 'hs', get(`${LIST}?cursor=eyJ2IjoxfQ.c2lnbmF0dXJl`), { ...badCursor, reaches: ['list'] }],
  ['list: a cursor that is not even two parts', 'hs', get(`${LIST}?cursor=abc`), { ...badCursor, reaches: ['list'] }],
  ['list: a lock the key may not manage', 'hs', get('/locks/999/BulkAddKeys'), forbidden(999)],
  ['list: bad lockId', 'hs', get('/locks/0x7b/BulkAddKeys'), badLockId()],

  // ---- pause and resume: like cancel -------------------------------------------------------------------
  [
    'pause: another organization’s run',
    'hs',
    cancel('/locks/123/BulkAddKeys/lock-123-initech-run/pause'),
    runNotFound('pause'),
  ],
  [
    'resume: another organization’s run',
    'hs',
    cancel('/locks/123/BulkAddKeys/lock-123-initech-run/resume'),
    runNotFound('resume'),
  ],
  ['pause: a malformed instanceId', 'hs', cancel('/locks/123/BulkAddKeys/a%20b/pause'), runNotFound()],
  ['pause: a lock the key may not manage', 'hs', cancel('/locks/999/BulkAddKeys/lock-999-x/pause'), forbidden(999)],
  [
    'pause: a run that already closed',
    'hs',
    cancel('/locks/123/BulkAddKeys/lock-123-acme-done/pause'),
    closedRun('pause'),
  ],
  [
    'resume: a run that already closed',
    'hs',
    cancel('/locks/123/BulkAddKeys/lock-123-acme-done/resume'),
    closedRun('resume'),
  ],
  ['extra path segments', 'hs', get(`${RUN}/keys/0`), routeNotFound],
  ['undecodable path', 'hs', { path: '/locks/%E0%A4%A/BulkAddKeys' }, badRequest('The request could not be processed')],

  // ---- Temporal unreachable: 503, nothing started, the process stays up -------------------------------
  ['down: POST', 'down', {}, unavailable('start')],
  ['down: GET', 'down', get(RUN), unavailable('status')],
  ['down: cancel', 'down', cancel(CANCEL), unavailable('cancel')],
  [
    'down: /readyz',
    'down',
    get('/readyz', { authorization: undefined, 'x-api-key': undefined }),
    {
      status: 503,
      body: { error: 'Service Unavailable', message: 'The workflow service is not reachable', code: 503 },
    },
  ],
];

// ---- Temporal: the suite's own dev server, seeded with the runs the GET and cancel rows aim at ------------
/** Locks of the control requests, one per gateway that can reach Temporal; no row uses them. */
const CONTROL_LOCK = { hs: 125, rs: 126, es: 127 } as const;
/** Runs put on the server before the table (workflow ID → lock); nothing else may appear on the rows' locks. */
const seeded = new Map<string, number>();

/** Every lock id a row's path could mean, read leniently (`007`, `0x10`, `12abc`…) so a lax parser would show up too. */
function lockIdsOfRows(): number[] {
  const ids = new Set<number>();
  for (const [, , request] of rows) {
    const text = /^\/locks\/([^/]*)/.exec(request.path ?? '/locks/123/BulkAddKeys')?.[1];
    if (text === undefined) continue;
    let decoded = text;
    try {
      decoded = decodeURIComponent(text);
    } catch {
      // an undecodable lockId is read as written
    }
    for (const id of [Number(decoded), Number.parseInt(decoded, 10)])
      if (Number.isSafeInteger(id) && id > 0) ids.add(id);
  }
  return [...ids].sort((a, b) => a - b);
}

/** Starts a bulkAddKeys run directly on the server (no worker polls it, so it stays as left). */
function seedRun(
  temporal: TestWorkflowEnvironment,
  config: GatewayConfig,
  workflowId: string,
  lockId: number,
  orgId: string,
) {
  seeded.set(workflowId, lockId);
  const input: BulkAddKeysInput = {
    lockId,
    orgId,
    requestedBy: 'seed',
    keys: [{ keyUuid: 'seed', keyIndexNumber: 0, userId: 'u' }],
  };
  return temporal.client.workflow.start(BULK_ADD_KEYS_WORKFLOW, {
    taskQueue: config.temporal.taskQueue,
    workflowId,
    args: [input],
    typedSearchAttributes: new TypedSearchAttributes([
      { key: LOCK_ID_KEY, value: lockId },
      { key: ORG_ID_KEY, value: orgId },
    ]),
    memo: { [MEMO_ORG_ID]: orgId },
  });
}

/** A loopback port that hangs up on every connection: Temporal down, without racing anyone for a closed port. */
async function hangUpListener(): Promise<Server> {
  const server = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

// ---- the gateways ---------------------------------------------------------------------------------------
let keysFile: TestApiKeysFile;
let temporal: TestWorkflowEnvironment;
let downListener: Server;
let lockWorkers: LockkeysWorkers | undefined;
let lockWorkersRunning: Promise<void> | undefined;
const services: RunService[] = [];
const gateways = {} as Record<Target, TestGateway<RecordingRunService>>;

beforeAll(async () => {
  keysFile = writeApiKeysFile([
    { id: 'acme-1', key: ACME_KEY, orgId: 'acme', locks: [123, 124, ...Object.values(CONTROL_LOCK)] },
    { id: 'acme-old', key: REVOKED_KEY, orgId: 'acme', locks: [123], revoked: true },
    { id: 'globex-1', key: GLOBEX_KEY, orgId: 'globex', locks: [200] },
    { id: 'initech-1', key: INITECH_KEY, orgId: 'initech', locks: '*' },
  ]);
  // The table sends far more than 120 requests a minute with one key; the limit has its own tests.
  const common = { NODE_ENV: 'test', API_KEYS_FILE: keysFile.path, RATE_LIMIT_PER_MINUTE: '1000000' };
  const hs = loadConfig({ ...common, JWT_SECRET: SECRET, JWT_ISSUER: ISSUER, JWT_AUDIENCE: AUDIENCE });
  const configs: Record<Target, typeof hs> = {
    hs,
    rs: loadConfig({ ...common, JWT_PUBLIC_KEY: pem(rsa.publicKey) }),
    es: loadConfig({ ...common, JWT_PUBLIC_KEY: pem(ec.publicKey) }),
    down: hs,
  };

  temporal = await startTemporalDevServer();
  downListener = await hangUpListener();
  const { port: downPort } = downListener.address() as { port: number };
  // One connection for the three gateways that reach the dev server, as one process would have.
  const live = createTemporalRunService(
    {
      ...hs,
      temporal: { ...hs.temporal, connectionOptions: { ...hs.temporal.connectionOptions, address: temporal.address } },
    },
    { queryDeadlineMs: 1_000 },
  );
  const down = createTemporalRunService(
    {
      ...hs,
      temporal: {
        ...hs.temporal,
        connectionOptions: { ...hs.temporal.connectionOptions, address: `127.0.0.1:${downPort}` },
      },
    },
    { startDeadlineMs: 2_000, readyDeadlineMs: 1_000, grpcMaxAttempts: 2 },
  );
  services.push(live, down);
  // The locks' workflows admit the POSTs that pass; no worker serves the runs, so every run stays as it was left.
  const settings = testSettings(1_000);
  lockWorkers = await createLockkeysWorkers({
    connection: temporal.nativeConnection,
    namespace: temporal.namespace ?? 'default',
    taskQueue: hs.temporal.taskQueue,
    queues: ['locks'],
    activities: createActivities({
      lockBackend: { putKey: () => Promise.reject(new Error('no run is served here')) },
      runSettings: settings,
      temporal: { client: temporal.client, taskQueues: taskQueues(hs.temporal.taskQueue) },
      webhooks: { endpoints: new Map(), attemptTimeoutMs: 1_000 },
    }),
  });
  lockWorkersRunning = lockWorkers.run();

  await seedRun(temporal, hs, 'lock-123-acme-run', 123, 'acme');
  await (await seedRun(temporal, hs, 'lock-123-acme-done', 123, 'acme')).terminate('seed: a run that has closed');
  await seedRun(temporal, hs, 'lock-123-initech-run', 123, 'initech');
  // The first request with Idempotency-Key order-1, made the way the gateway makes it.
  const first = await live.start({
    input: { lockId: 123, orgId: 'acme', requestedBy: 'alice', keys: validKeys },
    idempotencyKey: 'order-1',
  });
  seeded.set(first.instanceId, 123);

  for (const target of ['hs', 'rs', 'es', 'down'] as const) {
    gateways[target] = await startGateway(configs[target], new RecordingRunService(target === 'down' ? down : live));
  }
});

afterAll(async () => {
  await Promise.all(Object.values(gateways).map((gateway) => gateway.close()));
  lockWorkers?.shutdown();
  await lockWorkersRunning;
  await Promise.all(services.map((service) => service.close()));
  await temporal?.teardown();
  await new Promise((resolve) => downListener?.close(resolve));
  keysFile.remove();
});

/** The row's request: valid credentials for its gateway and a valid body unless the row says otherwise. */
function toRequest(target: Target, request: Hostile) {
  const method = request.method ?? 'POST';
  const headers: Record<string, string | string[] | number | undefined> = {
    authorization: bearer(validToken[target]()),
    'x-api-key': ACME_KEY,
    ...(method === 'POST' && request.body !== null && { 'content-type': 'application/json' }),
    ...request.headers,
  };
  const payload = request.body === undefined ? (method === 'POST' ? { keys: validKeys } : null) : request.body;
  return {
    method,
    path: request.path ?? '/locks/123/BulkAddKeys',
    headers: Object.fromEntries(
      Object.entries(headers).filter(([, value]) => value !== undefined),
    ) as OutgoingHttpHeaders,
    ...(payload !== null && {
      body: typeof payload === 'string' || Buffer.isBuffer(payload) ? payload : JSON.stringify(payload),
    }),
    ...(request.chunked !== undefined && { chunked: request.chunked }),
    ...(request.holdOpen !== undefined && { holdOpen: request.holdOpen }),
  };
}

/** Which route a row aims at. */
function routeOf({ method = 'POST', path = '/locks/123/BulkAddKeys' }: Hostile): string {
  if (method === 'POST' && /\/cancel$/.test(path)) return 'cancel';
  if (method === 'POST' && /\/pause$/.test(path)) return 'pause';
  if (method === 'POST' && /\/resume$/.test(path)) return 'resume';
  if (method === 'GET' && /^\/locks\/[^/]*\/BulkAddKeys(\?.*)?$/.test(path)) return 'list';
  if (method === 'GET' && /^\/locks\/[^/]*\/BulkAddKeys\/[^/]+$/.test(path)) return 'status';
  if (method === 'POST' && /^\/locks\/[^/]*\/BulkAddKeys$/.test(path)) return 'start';
  return 'other';
}

/** What each row got, for the checks across the whole table at the end. */
const answered: Array<{
  name: string;
  target: Target;
  method: string;
  path: string;
  answer: RawAnswer;
  reasonCode?: unknown;
}> = [];

describe('hostile requests', () => {
  test('control: a well-formed request passes every gateway, so each row below fails for its own reason', async () => {
    for (const target of ['hs', 'rs', 'es'] as const) {
      const answer = await send(gateways[target].port, toRequest(target, get(RUN)));
      expect([target, answer.status]).toEqual([target, 200]);
    }
    const down = await send(gateways.down.port, toRequest('down', get(RUN)));
    expect(down.status).toBe(503);
    for (const gateway of Object.values(gateways)) gateway.runs.calls.length = 0;
  });

  test.each(rows)('%s', async (name, target, request, expected) => {
    const gateway = gateways[target];
    const callsBefore = gateway.runs.calls.length;
    const logsBefore = gateway.logs.length;
    const answer: RawAnswer =
      request.raw !== undefined
        ? await sendRaw(gateway.port, request.raw)
        : await send(gateway.port, toRequest(target, request));

    expect({ status: answer.status, body: answer.body }).toEqual({ status: expected.status, body: expected.body });
    expect(answer.headers['content-type']).toMatch(/^application\/json; charset=utf-8$/);
    expect(answer.headers['x-request-id']).toEqual(expect.any(String));
    expect(answer.headers['x-powered-by']).toBeUndefined();
    if (expected.status === 401) expect(answer.headers['www-authenticate']).toBe('Bearer realm="lockkeys"');
    if (expected.status === 503 || expected.status === 500) expect(answer.text).not.toMatch(/\bat \S+:\d+|Error:/);
    expect(gateway.runs.calls.slice(callsBefore).map((call) => call.method)).toEqual(expected.reaches ?? []);
    for (const [header, value] of Object.entries(expected.headers ?? {})) expect(answer.headers[header]).toBe(value);
    if (expected.status === 401) {
      const failure = gateway.logs
        .slice(logsBefore)
        .map((line) => JSON.parse(line) as { msg: string; reasonCode?: unknown })
        .find((line) => line.msg === 'authentication failed');
      expect(failure?.reasonCode).toEqual(expect.stringMatching(new RegExp(`^(${AUTH_FAILURE_REASONS.join('|')})$`)));
      answered.push({ name, target, method: 'n/a', path: 'n/a', answer, reasonCode: failure?.reasonCode });
    }
    if (request.raw === undefined) {
      const { method, path } = toRequest(target, request);
      answered.push({ name, target, method, path, answer });
    }
  });

  test('the table holds at least 100 rows, with POST, GET and cancel all covered', () => {
    expect(rows.length).toBeGreaterThanOrEqual(100);
    const count = (route: string) => rows.filter(([, , request]) => routeOf(request) === route).length;
    expect({ start: count('start') >= 50, status: count('status') >= 10, cancel: count('cancel') >= 8 }).toEqual({
      start: true,
      status: true,
      cancel: true,
    });
  });

  test('no hostile request started or cancelled a run', () => {
    for (const gateway of Object.values(gateways)) {
      expect(gateway.runs.started).toEqual([]);
      expect(gateway.runs.cancelled).toEqual([]);
    }
  });

  test('every refusal on a documented route is an answer /openapi.body documents; the rest are 401 or 404', async () => {
    const spec = (await send(gateways.hs.port, { method: 'GET', path: '/openapi.json', headers: {} }))
      .body as OpenApiSpec;
    const compile = schemaCompiler(spec);
    const problems: string[] = [];
    let documented = 0;
    for (const { name, method, path, answer } of answered.filter((entry) => entry.method !== 'n/a')) {
      const operation = findOperation(spec, method, path);
      if (operation === undefined) {
        // Unknown routes (under /locks credentials are checked first), or a documented path asked another method.
        const pathDocumented = ['GET', 'POST'].some((other) => findOperation(spec, other, path) !== undefined);
        if (![401, 404].includes(answer.status) && !(answer.status === 405 && pathDocumented)) {
          problems.push(`${name}: ${answer.status} on an undocumented route`);
        }
        continue;
      }
      documented++;
      problems.push(...answerProblems(spec, compile, operation, answer).map((problem) => `${name}: ${problem}`));
    }
    expect(problems).toEqual([]);
    expect(documented).toBeGreaterThanOrEqual(100);
  });

  test('metrics: nothing started, each 401 counted under a bounded reason, route labels never raw URLs', async () => {
    const reasonCodes = answered.filter((entry) => entry.reasonCode !== undefined).map((entry) => entry.reasonCode);
    // Every known hostile form maps to a specific reason; the catch-all stays for what jsonwebtoken adds later.
    expect(reasonCodes).not.toContain('invalid_jwt');
    const knownRoutes = [
      '/locks/:lockId/BulkAddKeys',
      '/locks/:lockId/BulkAddKeys/:instanceId',
      '/locks/:lockId/BulkAddKeys/:instanceId/cancel',
      '/locks/:lockId/BulkAddKeys/:instanceId/pause',
      '/locks/:lockId/BulkAddKeys/:instanceId/resume',
      '/healthz',
      '/readyz',
      '/openapi.json',
      'unmatched',
    ];
    for (const target of ['hs', 'rs', 'es', 'down'] as const) {
      const metrics = await send(gateways[target].port, { method: 'GET', path: '/metrics', headers: {} });
      const samples = parsePrometheusText(metrics.text);
      expect([target, sampleValue(samples, 'lockkeys_workflows_started_total')]).toEqual([target, 0]);
      const unauthorizedRows = answered.filter((entry) => entry.target === target && entry.reasonCode !== undefined);
      expect([target, sampleValue(samples, 'lockkeys_auth_failures_total')]).toEqual([target, unauthorizedRows.length]);
      const routes = new Set(
        samples.filter((sample) => sample.name === 'http_requests_total').map((s) => s.labels.route),
      );
      for (const route of routes) expect([target, knownRoutes.includes(route ?? '')]).toEqual([target, true]);
    }
  });

  test('after the table a valid POST is still accepted by every gateway that reaches Temporal', async () => {
    for (const target of ['hs', 'rs', 'es'] as const) {
      const gateway = gateways[target];
      const callsBefore = gateway.runs.calls.length;
      const answer = await send(
        gateway.port,
        toRequest(target, { path: `/locks/${CONTROL_LOCK[target]}/BulkAddKeys` }),
      );
      expect([target, answer.status]).toEqual([target, 202]);
      expect(answer.body).toMatchObject({
        success: true,
        lockId: CONTROL_LOCK[target],
        instanceId: expect.any(String),
      });
      expect(gateway.runs.calls.slice(callsBefore).map((call) => call.method)).toEqual(['start']);
      expect(gateway.runs.started.map((request) => request.input.lockId)).toEqual([CONTROL_LOCK[target]]);
    }
  });

  test('the Temporal server holds no run that a hostile request started or cancelled', async () => {
    const { workflow } = temporal.client;
    const count = async (query: string) => (await workflow.count(query)).count;
    const runs = `WorkflowType = '${BULK_ADD_KEYS_WORKFLOW}'`;
    const controlLocks: number[] = Object.values(CONTROL_LOCK);
    // Visibility trails a start by milliseconds: wait for the control runs, started after every hostile request.
    // Time running out is no failure here: the assertions below then report what is missing.
    const visible = async () =>
      (await count(`${runs} AND LockId IN (${controlLocks.join(', ')})`)) === controlLocks.length;
    await eventually(async () => ((await visible()) ? true : undefined), 10_000, 'the control runs', 100).catch(
      () => undefined,
    );

    const lockIds = lockIdsOfRows();
    expect(lockIds).toEqual(expect.arrayContaining([123, 124, 999]));
    expect(lockIds.filter((id) => controlLocks.includes(id))).toEqual([]);
    const runsOn = async (ids: number[]) =>
      Object.fromEntries(
        await Promise.all(ids.map(async (id) => [id, await count(`${runs} AND LockId = ${id}`)] as const)),
      );
    const seededOn = (id: number) => [...seeded.values()].filter((lockId) => lockId === id).length;
    // Lock 123 holds the 4 seeded runs and nothing more; every other lock a row named holds none.
    expect(await runsOn(lockIds)).toEqual(Object.fromEntries(lockIds.map((id) => [id, seededOn(id)])));
    expect(await runsOn(controlLocks)).toEqual({ 125: 1, 126: 1, 127: 1 });
    expect(await count(runs)).toBe(seeded.size + controlLocks.length);
    // No hostile request reached a lock's workflow: only the seeded idempotent start's and the control requests' exist.
    const lockWorkflows: number[] = [];
    for await (const execution of workflow.list({ query: `WorkflowType = '${LOCK_QUEUE_WORKFLOW}'` })) {
      lockWorkflows.push(Number(execution.workflowId.replace('lock-', '')));
    }
    expect(lockWorkflows.sort()).toEqual([123, ...controlLocks]);

    // A cancel that slipped past an ownership check would leave a request in the seeded run's history.
    for (const workflowId of seeded.keys()) {
      const history = await workflow.getHandle(workflowId).fetchHistory();
      const cancelRequests = (history.events ?? []).filter(
        (event) => event.workflowExecutionCancelRequestedEventAttributes,
      );
      expect([workflowId, cancelRequests.length]).toEqual([workflowId, 0]);
    }
  });

  test('every gateway still answers /healthz', async () => {
    for (const gateway of Object.values(gateways)) {
      const answer = await send(gateway.port, { method: 'GET', path: '/healthz', headers: {} });
      expect(answer.status).toBe(200);
      expect(answer.body).toEqual({ status: 'ok' });
    }
  });
});
