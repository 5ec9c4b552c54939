import { parseWebhooksFile } from './webhooks-file';

const secretOf = (bytes: number) => `whsec_${Buffer.alloc(bytes, 0xab).toString('base64')}`;
const SECRET = secretOf(32);
const acme = { orgId: 'acme', url: 'https://hooks.example.com/lockkeys', secret: SECRET };
const file = (webhooks: unknown) => JSON.stringify({ webhooks });

/** The one-line error of parsing `content`, asserting that it never carries a secret. */
function problemOf(content: string, httpsOnly = false): string {
  try {
    parseWebhooksFile(content, { httpsOnly });
  } catch (err) {
    const { message } = err as Error;
    expect(message).not.toContain('\n');
    expect(message).not.toMatch(/whsec_[A-Za-z0-9+/]/);
    return message;
  }
  throw new Error('parseWebhooksFile did not throw');
}

test('endpoints by organization', () => {
  const globex = { orgId: 'globex', url: 'http://127.0.0.1:9000/hook', secret: secretOf(24) };
  const endpoints = parseWebhooksFile(file([acme, globex]), { httpsOnly: false });
  expect(endpoints.get('acme')).toEqual({ url: acme.url, secret: SECRET });
  expect(endpoints.get('globex')).toEqual({ url: globex.url, secret: globex.secret });
  expect(endpoints.size).toBe(2);
});

test('an empty list: no webhooks', () => {
  expect(parseWebhooksFile(file([]), { httpsOnly: true }).size).toBe(0);
});

test.each([
  ['24 bytes', secretOf(24)],
  ['64 bytes', secretOf(64)],
  ['unpadded length', `whsec_${Buffer.alloc(30, 1).toString('base64')}`],
])('a secret of %s is accepted', (_name, secret) => {
  expect(parseWebhooksFile(file([{ ...acme, secret }]), { httpsOnly: false }).get('acme')?.secret).toBe(secret);
});

test.each<[string, string, string, boolean?]>([
  ['not JSON', '{ webhooks: [', 'is not valid JSON'],
  ['no webhooks array', JSON.stringify({ hooks: [] }), 'must be an object with a "webhooks" array'],
  ['an entry that is not an object', file([42]), 'webhooks[0]: must be an object with orgId, url and secret'],
  ['no orgId', file([{ url: acme.url, secret: SECRET }]), 'webhooks[0]: orgId must be a string'],
  ['empty orgId', file([{ ...acme, orgId: '' }]), 'webhooks[0] (orgId ""): orgId must not be empty'],
  [
    'orgId with a control character',
    file([{ ...acme, orgId: 'ac\nme' }]),
    'webhooks[0] (orgId "ac\\nme"): orgId must not contain control characters',
  ],
  ['no url', file([{ orgId: 'acme', secret: SECRET }]), 'webhooks[0] (orgId "acme"): url must be a string'],
  [
    'a relative url',
    file([{ ...acme, url: '/hooks' }]),
    'webhooks[0] (orgId "acme"): url must be an absolute http or https URL',
  ],
  [
    'another scheme',
    file([{ ...acme, url: 'ftp://hooks.example.com' }]),
    'webhooks[0] (orgId "acme"): url must be an absolute http or https URL',
  ],
  [
    'credentials in the url (not echoed)',
    file([{ ...acme, url: 'https://user:hunter2@hooks.example.com' }]),
    'webhooks[0] (orgId "acme"): url must not contain credentials',
  ],
  [
    'http in production',
    file([{ ...acme, url: 'http://hooks.example.com' }]),
    'webhooks[0] (orgId "acme"): url must be https when NODE_ENV=production',
    true,
  ],
  ['no secret', file([{ orgId: 'acme', url: acme.url }]), 'webhooks[0] (orgId "acme"): secret must be a string'],
  [
    'a secret without the whsec_ prefix',
    file([{ ...acme, secret: SECRET.slice('whsec_'.length) }]),
    'webhooks[0] (orgId "acme"): secret must be "whsec_" followed by the base64 of 24 to 64 bytes',
  ],
  [
    'a secret of 23 bytes',
    file([{ ...acme, secret: secretOf(23) }]),
    'webhooks[0] (orgId "acme"): secret must be "whsec_" followed by the base64 of 24 to 64 bytes',
  ],
  [
    'a secret of 65 bytes',
    file([{ ...acme, secret: secretOf(65) }]),
    'webhooks[0] (orgId "acme"): secret must be "whsec_" followed by the base64 of 24 to 64 bytes',
  ],
  [
    'a secret that is not base64',
    file([{ ...acme, secret: `whsec_${'*'.repeat(44)}` }]),
    'webhooks[0] (orgId "acme"): secret must be "whsec_" followed by the base64 of 24 to 64 bytes',
  ],
  [
    'an unknown property',
    file([{ ...acme, events: ['complete'] }]),
    'webhooks[0] (orgId "acme"): unknown properties: events',
  ],
  [
    'two endpoints for one organization',
    file([acme, { ...acme, url: 'https://other.example.com' }]),
    'webhooks[1] (orgId "acme"): duplicate orgId (also webhooks[0]): one endpoint per organization',
  ],
  [
    'several bad entries, each named',
    file([acme, { ...acme, orgId: 'globex', url: 'nope' }, { orgId: 'initech', url: acme.url, secret: 'whsec_x' }]),
    'webhooks[1] (orgId "globex"): url must be an absolute http or https URL; ' +
      'webhooks[2] (orgId "initech"): secret must be "whsec_" followed by the base64 of 24 to 64 bytes',
  ],
])('%s → one line naming the entry', (_name, content, problem, httpsOnly = false) => {
  expect(problemOf(content, httpsOnly)).toBe(problem);
});
