import { errorBodySchema, issuesToDetails, UNAUTHORIZED_BODY } from './errors';
import {
  bulkAddKeysAcceptedSchema,
  bulkAddKeysBodySchema,
  idempotencyKeySchema,
  lockIdSchema,
  runListQuerySchema,
  type RunStatusBody,
  runStatusBodySchema,
} from './run';
import { summarize, type KeyProgress } from './workflow';

describe('lockIdSchema', () => {
  test.each(['1', '123', '9007199254740991'])('accepts %s', (raw) => {
    expect(lockIdSchema.parse(raw)).toBe(Number(raw));
  });
  test.each([
    '0',
    '-1',
    '007',
    '1e3',
    '0x10',
    '12abc',
    '1.5',
    ' 1',
    '',
    '9007199254740992',
    '99999999999999999',
    'abc',
  ])('rejects %j', (raw) => {
    expect(lockIdSchema.safeParse(raw).success).toBe(false);
  });
});

describe('bulkAddKeysBodySchema', () => {
  const schema = bulkAddKeysBodySchema({ maxKeysPerRequest: 3, maxKeyIndex: 100 });
  const key = (over: object = {}) => ({ keyUuid: 'k', keyIndexNumber: 1, userId: 'u', ...over });

  test('accepts a valid body', () => {
    expect(schema.parse({ keys: [key(), key({ keyUuid: 'k2', keyIndexNumber: 2 })] }).keys).toHaveLength(2);
  });

  test.each<[string, unknown, string[]]>([
    ['no keys', {}, ['keys']],
    ['keys not an array', { keys: {} }, ['keys']],
    ['empty keys', { keys: [] }, ['keys']],
    ['too many keys', { keys: [1, 2, 3, 4].map((i) => key({ keyUuid: `k${i}`, keyIndexNumber: i })) }, ['keys']],
    ['missing keyUuid', { keys: [{ keyIndexNumber: 1, userId: 'u' }] }, ['keys.0.keyUuid']],
    ['empty userId', { keys: [key({ userId: '' })] }, ['keys.0.userId']],
    ['userId too long', { keys: [key({ userId: 'x'.repeat(129) })] }, ['keys.0.userId']],
    ['control character', { keys: [key({ keyUuid: 'a\nb' })] }, ['keys.0.keyUuid']],
    ['index as string', { keys: [key({ keyIndexNumber: '1' })] }, ['keys.0.keyIndexNumber']],
    ['index fractional', { keys: [key({ keyIndexNumber: 1.5 })] }, ['keys.0.keyIndexNumber']],
    ['index negative', { keys: [key({ keyIndexNumber: -1 })] }, ['keys.0.keyIndexNumber']],
    ['index above max', { keys: [key({ keyIndexNumber: 101 })] }, ['keys.0.keyIndexNumber']],
    ['null key', { keys: [null] }, ['keys.0']],
    ['extra key property', { keys: [key({ admin: true })] }, ['keys.0.admin']],
    ['extra body property', { keys: [key()], more: 1 }, ['more']],
    ['duplicate keyUuid', { keys: [key(), key({ keyIndexNumber: 2 })] }, ['keys.1.keyUuid']],
    ['duplicate index', { keys: [key(), key({ keyUuid: 'k2' })] }, ['keys.1.keyIndexNumber']],
  ])('%s → details at %j', (_name, body, paths) => {
    const result = schema.safeParse(body);
    expect(result.success).toBe(false);
    const details = issuesToDetails(result.error!.issues);
    expect(details.map((d) => d.path)).toEqual(paths);
    for (const detail of details) expect(detail.message).toEqual(expect.any(String));
  });

  test('lists every problem, not just the first', () => {
    const result = schema.safeParse({ keys: [{ keyUuid: 1, keyIndexNumber: 'x' }] });
    expect(
      issuesToDetails(result.error!.issues)
        .map((d) => d.path)
        .sort(),
    ).toEqual(['keys.0.keyIndexNumber', 'keys.0.keyUuid', 'keys.0.userId']);
  });
});

test.each([
  ['abc', true],
  ['x'.repeat(255), true],
  ['', false],
  ['x'.repeat(256), false],
  ['tab\there', false],
  ['é', false],
])('Idempotency-Key %j valid=%s', (value, valid) => {
  expect(idempotencyKeySchema.safeParse(value).success).toBe(valid);
});

test('summarize counts keys by status; adding counts as pending', () => {
  const k = (status: KeyProgress['status']): KeyProgress => ({
    keyUuid: 'k',
    keyIndexNumber: 0,
    userId: 'u',
    status,
    attempts: 0,
    error: null,
  });
  expect(summarize([k('added'), k('added'), k('failed'), k('pending'), k('adding'), k('cancelled')])).toEqual({
    total: 6,
    added: 2,
    failed: 1,
    pending: 2,
    cancelled: 1,
  });
});

describe('response schemas', () => {
  test('accept bodies the gateway sends and refuse what SPEC rules out', () => {
    const status: RunStatusBody = {
      instanceId: 'lock-123-x',
      lockId: 123,
      status: 'running',
      createdAt: '2025-01-01T00:00:00.000Z',
      closedAt: null,
      summary: summarize([]),
      keys: [
        {
          keyUuid: 'k',
          keyIndexNumber: 1,
          userId: 'u',
          status: 'failed',
          attempts: 1,
          error: { type: 'SlotOccupied', message: 'taken' },
        },
      ],
    };
    expect(runStatusBodySchema.parse(status)).toEqual(status);
    expect(runStatusBodySchema.safeParse({ ...status, status: 'done' }).success).toBe(false);
    expect(runStatusBodySchema.safeParse({ ...status, lockId: '123' }).success).toBe(false);
    expect(bulkAddKeysAcceptedSchema.safeParse({ success: true, lockId: 1, instanceId: 'x' }).success).toBe(true);
    expect(bulkAddKeysAcceptedSchema.safeParse({ success: false, lockId: 1, instanceId: 'x' }).success).toBe(false);
    expect(errorBodySchema.parse(UNAUTHORIZED_BODY)).toEqual(UNAUTHORIZED_BODY);
    expect(errorBodySchema.safeParse({ error: 'Bad Request', message: 'm', code: 200 }).success).toBe(false);
  });
});

test.each([
  ['accepts printable text and non-ASCII letters', 'Zoë 42 / ü', true],
  ['refuses a tab', 'a\tb', false],
  ['refuses DEL', 'a\u007fb', false],
  ['refuses a C1 control', 'a\u0085b', false],
])('keyUuid %s', (_name, keyUuid, valid) => {
  const result = bulkAddKeysBodySchema().safeParse({ keys: [{ keyUuid, keyIndexNumber: 1, userId: 'u' }] });
  expect(result.success).toBe(valid);
  if (!valid)
    expect(issuesToDetails(result.error!.issues)).toEqual([
      { path: 'keys.0.keyUuid', message: 'keyUuid must not contain control characters' },
    ]);
});

describe('runListQuerySchema', () => {
  test.each<[Record<string, unknown>, Record<string, unknown>]>([
    [{}, {}],
    [{ limit: '1' }, { limit: 1 }],
    [
      { limit: '100', status: 'paused', cursor: 'abc' },
      { limit: 100, status: 'paused', cursor: 'abc' },
    ],
  ])('accepts %j', (query, parsed) => {
    expect(runListQuerySchema.parse(query)).toEqual(parsed);
  });

  test.each<[string, Record<string, unknown>, string]>([
    ['limit 0', { limit: '0' }, 'limit'],
    ['limit 101', { limit: '101' }, 'limit'],
    ['limit abc', { limit: 'abc' }, 'limit'],
    ['limit 1e1', { limit: '1e1' }, 'limit'],
    ['limit twice', { limit: ['1', '2'] }, 'limit'],
    ['status bogus', { status: 'bogus' }, 'status'],
    ['empty cursor', { cursor: '' }, 'cursor'],
    ['unknown parameter', { page: '2' }, 'page'],
  ])('%s is refused at %s', (_name, query, path) => {
    const result = runListQuerySchema.safeParse(query);
    expect(result.success).toBe(false);
    expect(issuesToDetails(result.error!.issues).map((d) => d.path)).toEqual([path]);
  });
});
