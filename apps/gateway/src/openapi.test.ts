import { bulkAddKeysBodySchema, errorBodySchema, runStatusBodySchema, UNAUTHORIZED_BODY } from '@lockkeys/contracts';
import { sign } from 'jsonwebtoken';
import { type Outgoing, type RawAnswer, send } from '@lockkeys/testing';
import { configForSuite, startGateway, type TestGateway } from './testing/gateway-harness';
import {
  answerProblems,
  findOperation,
  type OpenApiSpec,
  schemaCompiler,
  validateOpenApi,
} from './testing/openapi-check';

const SECRET = 'openapi-test-secret-0123456789-abcdef';
const ACME_KEY = 'lk_openapi_acme_000000000000000000001';
const key = (i: number) => ({ keyUuid: `uuid-${i}`, keyIndexNumber: i, userId: `user-${i}` });

// Small limits, so the document visibly carries the configured ones.
const config = configForSuite([{ id: 'acme-1', key: ACME_KEY, orgId: 'acme', locks: [123] }], {
  JWT_SECRET: SECRET,
  MAX_KEYS_PER_REQUEST: '3',
  MAX_KEY_INDEX: '100',
  MAX_BODY_BYTES: '2048',
});
let gateway: TestGateway;
let spec: OpenApiSpec;
let compile: ReturnType<typeof schemaCompiler>;

beforeAll(async () => {
  gateway = await startGateway(config());
  const answer = await send(gateway.port, { method: 'GET', path: '/openapi.json', headers: {} });
  expect(answer.status).toBe(200);
  spec = answer.body as OpenApiSpec;
  compile = schemaCompiler(spec);
});

afterAll(async () => {
  await gateway.close();
});

/** `METHOD /template` of every documented operation. */
const documentedOperations = (document: OpenApiSpec) =>
  Object.entries(document.paths)
    .flatMap(([path, operations]) => Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`))
    .sort();

describe('GET /openapi.json', () => {
  test('is valid OpenAPI 3.1 for @seriousme/openapi-schema-validator, which does refuse a broken document', async () => {
    expect(spec.openapi).toBe('3.1.0');
    expect(await validateOpenApi(spec)).toEqual({ valid: true, version: '3.1', errors: [] });

    const broken = structuredClone(spec) as unknown as { paths: Record<string, Record<string, object>> };
    // A response without its required description.
    broken.paths['/healthz'] = { get: { responses: { 200: { content: {} } } } };
    expect((await validateOpenApi(broken)).valid).toBe(false);
  });

  test('every documented operation is served, and any other method on a documented path is 405 with its methods', async () => {
    const operations = documentedOperations(spec);
    expect(operations).toEqual([
      'GET /docs',
      'GET /docs/{asset}',
      'GET /healthz',
      'GET /locks/{lockId}/BulkAddKeys',
      'GET /locks/{lockId}/BulkAddKeys/{instanceId}',
      'GET /metrics',
      'GET /openapi.json',
      'GET /readyz',
      'GET /webhooks',
      'POST /locks/{lockId}/BulkAddKeys',
      'POST /locks/{lockId}/BulkAddKeys/{instanceId}/cancel',
      'POST /locks/{lockId}/BulkAddKeys/{instanceId}/pause',
      'POST /locks/{lockId}/BulkAddKeys/{instanceId}/resume',
    ]);
    const concrete = (template: string) =>
      template.replace('{lockId}', '123').replace('{instanceId}', 'lock-123-x').replace('{asset}', 'docs.js');
    for (const [path, methods] of Object.entries(spec.paths)) {
      const documented = Object.keys(methods).map((m) => m.toUpperCase());
      for (const method of documented) {
        const answer = await send(gateway.port, { method, path: concrete(path), headers: {} });
        expect([`${method} ${path}`, answer.status]).not.toEqual([`${method} ${path}`, 404]);
        expect(answer.status).not.toBe(405);
      }
      for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'].filter((m) => !documented.includes(m))) {
        const answer = await send(gateway.port, { method, path: concrete(path), headers: {} });
        expect([`${method} ${path}`, answer.status]).toEqual([`${method} ${path}`, 405]);
        const allowed = documented.flatMap((m) => (m === 'GET' ? ['GET', 'HEAD'] : [m]));
        expect(answer.headers.allow?.split(', ').sort()).toEqual(allowed.sort());
      }
    }
  });

  test('lockId is documented as the integer it stands for, everywhere it appears', () => {
    for (const operations of Object.values(spec.paths)) {
      for (const operation of Object.values(operations) as { parameters?: { name: string; schema: unknown }[] }[]) {
        for (const parameter of (operation.parameters ?? []).filter((p) => p.name === 'lockId')) {
          expect(parameter.schema).toEqual({ type: 'integer', format: 'int64', minimum: 1, maximum: 9007199254740991 });
        }
      }
    }
  });

  test('says in words what JSON Schema cannot: keyUuid and keyIndexNumber are unique within a request', () => {
    const text = JSON.stringify(spec);
    expect(text).toContain('No two keys of one request may share a keyUuid');
    expect(text).toContain('no two may share a keyIndexNumber');
  });

  // What each operation can answer besides success; all of it is SPEC's error body.
  const ERROR_STATUSES: Record<string, number[]> = {
    'POST /locks/{lockId}/BulkAddKeys': [400, 401, 403, 409, 413, 415, 429, 500, 503],
    'GET /locks/{lockId}/BulkAddKeys': [400, 401, 403, 429, 500, 503],
    'GET /locks/{lockId}/BulkAddKeys/{instanceId}': [400, 401, 403, 404, 429, 500, 503],
    'POST /locks/{lockId}/BulkAddKeys/{instanceId}/pause': [400, 401, 403, 404, 409, 429, 500, 503],
    'POST /locks/{lockId}/BulkAddKeys/{instanceId}/resume': [400, 401, 403, 404, 409, 429, 500, 503],
    'POST /locks/{lockId}/BulkAddKeys/{instanceId}/cancel': [400, 401, 403, 404, 409, 429, 500, 503],
    'GET /webhooks': [401, 403, 429, 500, 503],
    'GET /healthz': [],
    'GET /readyz': [503],
    'GET /metrics': [500],
    'GET /openapi.json': [],
    'GET /docs': [],
    'GET /docs/{asset}': [404],
  };

  test('every operation lists its error answers, each with the SPEC error body', () => {
    expect(documentedOperations(spec)).toEqual(Object.keys(ERROR_STATUSES).sort());
    for (const [operationName, statuses] of Object.entries(ERROR_STATUSES)) {
      const [method = '', path = ''] = operationName.split(' ');
      const operation = spec.paths[path]?.[method.toLowerCase()];
      const errors = Object.entries(operation?.responses ?? {}).filter(([status]) => Number(status) >= 400);
      expect([operationName, errors.map(([status]) => Number(status))]).toEqual([operationName, statuses]);
      for (const [status, response] of errors) {
        expect([operationName, status, response.content]).toEqual([
          operationName,
          status,
          { 'application/json': expect.objectContaining({ schema: { $ref: '#/components/schemas/ErrorBody' } }) },
        ]);
      }
    }
    const start = spec.paths['/locks/{lockId}/BulkAddKeys']?.post;
    expect(start?.responses['401']?.content?.['application/json']).toMatchObject({ example: UNAUTHORIZED_BODY });
  });

  test('the run routes need the bearer JWT and the API key together; operations need nothing', () => {
    const document = spec as unknown as { components: { securitySchemes: Record<string, object> } };
    expect(document.components.securitySchemes).toEqual({
      bearerJwt: expect.objectContaining({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' }),
      apiKey: expect.objectContaining({ type: 'apiKey', in: 'header', name: 'X-API-Key' }),
    });
    for (const [path, operations] of Object.entries(spec.paths)) {
      for (const operation of Object.values(operations)) {
        expect([path, operation.security]).toEqual([
          path,
          path.startsWith('/locks/') || path === '/webhooks' ? [{ bearerJwt: [], apiKey: [] }] : [],
        ]);
      }
    }
  });

  test('the start documents its parameters, Idempotency-Key and response headers from the zod schemas', () => {
    const start = spec.paths['/locks/{lockId}/BulkAddKeys']?.post;
    expect(start?.parameters).toEqual([
      expect.objectContaining({
        name: 'lockId',
        in: 'path',
        required: true,
        schema: { type: 'integer', format: 'int64', minimum: 1, maximum: Number.MAX_SAFE_INTEGER },
      }),
      expect.objectContaining({ name: 'Idempotency-Key', in: 'header', required: false }),
    ]);
    expect(Object.keys(start?.responses['202']?.headers ?? {})).toEqual(
      expect.arrayContaining(['Location', 'Idempotent-Replayed', 'X-Request-Id']),
    );
    expect(Object.keys(start?.responses['429']?.headers ?? {})).toContain('Retry-After');
  });
});

describe('the request body schema in the document', () => {
  const zodBody = () => bulkAddKeysBodySchema(config().limits);
  const documented = () => {
    const schema = spec.paths['/locks/{lockId}/BulkAddKeys']?.post?.requestBody?.content['application/json']?.schema;
    if (schema === undefined) throw new Error('no request body schema');
    return compile(schema);
  };

  test.each<[string, unknown]>([
    ['one key', { keys: [key(1)] }],
    ['the configured maximum of 3 keys', { keys: [key(1), key(2), key(3)] }],
    ['keyIndexNumber 0 and the configured maximum 100', { keys: [key(0), { ...key(1), keyIndexNumber: 100 }] }],
    ['non-ASCII letters', { keys: [{ ...key(1), keyUuid: 'Zoë-✓', userId: 'ü' }] }],
    ['128 characters', { keys: [{ ...key(1), userId: 'u'.repeat(128) }] }],
    ['4 keys, over the configured 3', { keys: [key(1), key(2), key(3), key(4)] }],
    ['no keys', { keys: [] }],
    ['keys missing', {}],
    ['keys not an array', { keys: { 0: key(1) } }],
    ['keyIndexNumber 101, over the configured 100', { keys: [{ ...key(1), keyIndexNumber: 101 }] }],
    ['keyIndexNumber -1', { keys: [{ ...key(1), keyIndexNumber: -1 }] }],
    ['keyIndexNumber 1.5', { keys: [{ ...key(1), keyIndexNumber: 1.5 }] }],
    ['keyIndexNumber as a string', { keys: [{ ...key(1), keyIndexNumber: '1' }] }],
    ['empty keyUuid', { keys: [{ ...key(1), keyUuid: '' }] }],
    ['userId of 129 characters', { keys: [{ ...key(1), userId: 'u'.repeat(129) }] }],
    ['a newline in keyUuid', { keys: [{ ...key(1), keyUuid: 'a\nb' }] }],
    ['a C1 control in userId', { keys: [{ ...key(1), userId: 'a\u009bb' }] }],
    ['DEL in userId', { keys: [{ ...key(1), userId: 'a\u007f' }] }],
    ['userId missing', { keys: [{ keyUuid: 'a', keyIndexNumber: 1 }] }],
    ['an unknown property on a key', { keys: [{ ...key(1), admin: true }] }],
    ['an unknown property on the body', { keys: [key(1)], admin: true }],
    ['a key that is null', { keys: [null] }],
    ['a body that is an array', [key(1)]],
    ['a body that is a string', 'keys'],
    ['a body that is null', null],
  ])('agrees with zod: %s', (_name, body) => {
    const zodAccepts = zodBody().safeParse(body).success;
    expect(documented()(body)).toBe(zodAccepts);
  });

  test('the one difference, duplicates, is what JSON Schema cannot say; the document says it in words', () => {
    const duplicates = [
      { keys: [key(1), { ...key(2), keyUuid: 'uuid-1' }] },
      { keys: [key(1), { ...key(2), keyIndexNumber: 1 }] },
    ];
    for (const body of duplicates) {
      expect(zodBody().safeParse(body).success).toBe(false);
      expect(documented()(body)).toBe(true);
    }
    const keys = (spec.components.schemas.BulkAddKeysBody as { properties: { keys: { description: string } } })
      .properties.keys;
    expect(keys.description).toMatch(
      /No two keys of one request may share a keyUuid, and no two may share a keyIndexNumber/,
    );
  });
});

describe('the response schemas in the document', () => {
  const body = {
    instanceId: 'lock-123-x',
    lockId: 123,
    status: 'running',
    createdAt: '2025-01-01T00:00:00.000Z',
    closedAt: null,
    summary: { total: 2, added: 0, failed: 1, pending: 1, cancelled: 0 },
    keys: [
      {
        ...key(1),
        status: 'failed',
        attempts: 1,
        error: { type: 'SlotOccupied', message: 'slot 1 holds another key' },
      },
      { ...key(2), status: 'pending', attempts: 0, error: null },
    ],
  };

  test.each<[string, string, unknown]>([
    ['a run', 'RunStatusBody', body],
    ['a closed run', 'RunStatusBody', { ...body, status: 'complete', closedAt: '2025-01-01T00:01:00.000Z' }],
    ['an unknown run status', 'RunStatusBody', { ...body, status: 'done' }],
    ['lockId as a string', 'RunStatusBody', { ...body, lockId: '123' }],
    ['closedAt missing', 'RunStatusBody', { ...body, closedAt: undefined }],
    ['a key error that is a string', 'RunStatusBody', { ...body, keys: [{ ...body.keys[1], error: 'boom' }] }],
    ['a negative count', 'RunStatusBody', { ...body, summary: { ...body.summary, total: -1 } }],
    ['the 401 body', 'ErrorBody', UNAUTHORIZED_BODY],
    [
      'a 400 with details',
      'ErrorBody',
      { error: 'Bad Request', message: 'm', code: 400, details: [{ path: '', message: 'x' }] },
    ],
    ['an error code of 200', 'ErrorBody', { error: 'OK', message: 'm', code: 200 }],
    ['an error without message', 'ErrorBody', { error: 'Bad Request', code: 400 }],
  ])('agree with zod: %s', (_name, component, sample) => {
    const zodSchema = component === 'RunStatusBody' ? runStatusBodySchema : errorBodySchema;
    const schema = spec.components.schemas[component];
    if (schema === undefined) throw new Error(`no component ${component}`);
    expect(compile(schema)(sample)).toBe(zodSchema.safeParse(sample).success);
  });

  test('a shared component is not made nullable by a nullable use of it', () => {
    expect(compile(spec.components.schemas.KeyError ?? {})(null)).toBe(false);
  });
});

interface Step {
  name: string;
  request: Outgoing;
  status: number;
  /** Puts the fake RunService in the state the step needs; undone after it. */
  setup?: (gateway: TestGateway) => void;
}

describe('every answer the gateway gives is documented, body and headers', () => {
  const credentials = () => ({
    authorization: `Bearer ${sign({ sub: 'alice' }, SECRET, { expiresIn: '5m' })}`,
    'x-api-key': ACME_KEY,
  });
  const post = (path: string, body: unknown, headers: Record<string, string> = {}): Outgoing => ({
    method: 'POST',
    path,
    headers: { ...credentials(), 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const get = (path: string, headers: Record<string, string | undefined> = credentials()): Outgoing => ({
    method: 'GET',
    path,
    headers: Object.fromEntries(Object.entries(headers).filter(([, value]) => value !== undefined)) as Record<
      string,
      string
    >,
  });
  const START = '/locks/123/BulkAddKeys';
  const RUN = '/locks/123/BulkAddKeys/lock-123-seeded';
  const down = (g: TestGateway) => void (g.runs.unavailable = true);

  const steps = (): Step[] => [
    { name: 'start', request: post(START, { keys: [key(1)] }), status: 202 },
    {
      name: 'start with Idempotency-Key',
      request: post(START, { keys: [key(2)] }, { 'idempotency-key': 'o-1' }),
      status: 202,
    },
    { name: 'idempotent replay', request: post(START, { keys: [key(2)] }, { 'idempotency-key': 'o-1' }), status: 202 },
    {
      name: 'Idempotency-Key with another body',
      request: post(START, { keys: [key(3)] }, { 'idempotency-key': 'o-1' }),
      status: 409,
    },
    { name: 'malformed JSON', request: post(START, '{"keys":'), status: 400 },
    { name: 'schema violation', request: post(START, { keys: [] }), status: 400 },
    { name: 'bad lockId', request: post('/locks/0x1/BulkAddKeys', { keys: [key(1)] }), status: 400 },
    {
      name: 'bad Idempotency-Key',
      request: post(START, { keys: [key(1)] }, { 'idempotency-key': 'tab\there' }),
      status: 400,
    },
    {
      name: 'no credentials',
      request: { ...post(START, { keys: [key(1)] }), headers: { 'content-type': 'application/json' } },
      status: 401,
    },
    { name: 'lock not allowed', request: post('/locks/124/BulkAddKeys', { keys: [key(1)] }), status: 403 },
    { name: 'body too large', request: post(START, { keys: [{ ...key(1), userId: 'u'.repeat(3000) }] }), status: 413 },
    { name: 'not JSON', request: post(START, 'keys', { 'content-type': 'text/plain' }), status: 415 },
    { name: 'start, Temporal down', request: post(START, { keys: [key(1)] }), status: 503, setup: down },
    {
      name: 'start, a bug',
      request: post(START, { keys: [key(1)] }),
      status: 500,
      setup: (g) => void (g.runs.failure = new Error('boom')),
    },
    { name: 'read a run', request: get(RUN), status: 200 },
    { name: 'read, no credentials', request: get(RUN, {}), status: 401 },
    { name: 'read, bad lockId', request: get('/locks/abc/BulkAddKeys/lock-123-seeded'), status: 400 },
    { name: 'read an unknown run', request: get('/locks/123/BulkAddKeys/lock-123-nobody'), status: 404 },
    { name: 'read, Temporal down', request: get(RUN), status: 503, setup: down },
    { name: 'cancel', request: post(`${RUN}/cancel`, ''), status: 202 },
    { name: 'cancel again', request: post(`${RUN}/cancel`, ''), status: 409 },
    { name: 'cancel an unknown run', request: post('/locks/123/BulkAddKeys/lock-123-nobody/cancel', ''), status: 404 },
    { name: 'healthz', request: get('/healthz', {}), status: 200 },
    { name: 'readyz', request: get('/readyz', {}), status: 200 },
    { name: 'readyz, Temporal down', request: get('/readyz', {}), status: 503, setup: down },
    { name: 'metrics', request: get('/metrics', {}), status: 200 },
    { name: 'openapi.json', request: get('/openapi.json', {}), status: 200 },
    { name: 'docs', request: get('/docs', {}), status: 200 },
    { name: 'docs stylesheet', request: get('/docs/swagger-ui.css', {}), status: 200 },
    { name: 'docs bundle', request: get('/docs/swagger-ui-bundle.js', {}), status: 200 },
    { name: 'docs start-up script', request: get('/docs/docs.js', {}), status: 200 },
    { name: 'docs icon', request: get('/docs/favicon-32x32.png', {}), status: 200 },
    { name: 'docs, unknown file', request: get('/docs/index.html', {}), status: 404 },
  ];

  test('on every route, success and failure alike', async () => {
    const own = await startGateway(config());
    try {
      own.runs.seedRun('lock-123-seeded', { lockId: 123, orgId: 'acme' });
      for (const step of steps()) {
        step.setup?.(own);
        const answer: RawAnswer = await send(own.port, step.request);
        Object.assign(own.runs, { unavailable: false, failure: undefined });
        const operation = findOperation(spec, step.request.method, step.request.path);
        const problems =
          operation === undefined ? ['no documented operation'] : answerProblems(spec, compile, operation, answer);
        expect({ step: step.name, status: answer.status, problems }).toEqual({
          step: step.name,
          status: step.status,
          problems: [],
        });
      }
    } finally {
      await own.close();
    }
  });

  test('429 too', async () => {
    const limited = await startGateway({ ...config(), limits: { ...config().limits, rateLimitPerMinute: 1 } });
    try {
      limited.runs.seedRun('lock-123-seeded', { lockId: 123, orgId: 'acme' });
      expect((await send(limited.port, get(RUN))).status).toBe(200);
      const answer = await send(limited.port, get(RUN));
      const operation = findOperation(spec, 'GET', RUN);
      expect({ status: answer.status, problems: answerProblems(spec, compile, operation!, answer) }).toEqual({
        status: 429,
        problems: [],
      });
    } finally {
      await limited.close();
    }
  });
});

describe('GET /docs', () => {
  test('renders Swagger UI on /openapi.body from this gateway only: every asset is local and served', async () => {
    const page = await send(gateway.port, { method: 'GET', path: '/docs', headers: {} });
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.text).not.toMatch(/https?:|\/\/[a-z]/i);
    const references = [...page.text.matchAll(/(?:src|href)="([^"]*)"/g)].map(([, reference]) => reference ?? '');
    expect(references.sort()).toEqual([
      '/docs/docs.js',
      '/docs/favicon-32x32.png',
      '/docs/swagger-ui-bundle.js',
      '/docs/swagger-ui.css',
    ]);
    const expectedType: Record<string, RegExp> = {
      js: /^text\/javascript|^application\/javascript/,
      css: /^text\/css/,
      png: /^image\/png$/,
    };
    for (const reference of references) {
      const asset = await send(gateway.port, { method: 'GET', path: reference, headers: {} });
      expect([reference, asset.status]).toEqual([reference, 200]);
      expect(asset.headers['content-type']).toMatch(expectedType[reference.split('.').pop() ?? ''] ?? /^$/);
    }
    const bundle = await send(gateway.port, { method: 'GET', path: '/docs/swagger-ui-bundle.js', headers: {} });
    expect(bundle.text.length).toBeGreaterThan(500_000);
    expect(bundle.text).toContain('SwaggerUIBundle');
    const script = await send(gateway.port, { method: 'GET', path: '/docs/docs.js', headers: {} });
    expect(script.text).toContain("url: '/openapi.json'");
    expect(script.text).toContain('validatorUrl: null');
  });

  test('its CSP allows this origin only and no eval; the API keeps helmet’s default policy', async () => {
    const policy = (answer: RawAnswer) =>
      Object.fromEntries(
        String(answer.headers['content-security-policy'])
          .split(';')
          .map((directive) => directive.trim().split(/\s+/))
          .map(([name = '', ...sources]) => [name, sources]),
      ) as Record<string, string[]>;
    const docs = policy(await send(gateway.port, { method: 'GET', path: '/docs', headers: {} }));
    expect(docs['script-src']).toEqual(["'self'"]);
    expect(docs['connect-src']).toEqual(["'self'"]);
    expect(docs['style-src']).toEqual(["'self'"]);
    expect(docs['default-src']).toEqual(["'self'"]);
    expect(docs['upgrade-insecure-requests']).toBeUndefined();
    expect(Object.values(docs).flat()).not.toContainEqual(expect.stringMatching(/^(https?:|\*|'unsafe-eval')/));
    const asset = policy(await send(gateway.port, { method: 'GET', path: '/docs/docs.js', headers: {} }));
    expect(asset).toEqual(docs);

    const api = policy(await send(gateway.port, { method: 'GET', path: '/healthz', headers: {} }));
    expect(api['upgrade-insecure-requests']).toEqual([]);
    expect(api['script-src']).toEqual(["'self'"]);
  });
});
