import { z } from 'zod';

/** One organization's endpoint (`WEBHOOKS_FILE`). */
export interface WebhookEndpoint {
  url: string;
  /** `whsec_<base64>`, as Standard Webhooks spells secrets. */
  secret: string;
}
/** Endpoints by organization. */
export type WebhookEndpoints = ReadonlyMap<string, WebhookEndpoint>;

/**
 * An endpoint's URL as an organization may see it: without query or fragment (either may hold a token; credentials are
 * refused in the file already).
 */
export function shownWebhookUrl(url: string): string {
  const { origin, pathname } = new URL(url);
  return `${origin}${pathname}`;
}

const SECRET_PREFIX = 'whsec_';
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const SECRET_MESSAGE = `secret must be "${SECRET_PREFIX}" followed by the base64 of 24 to 64 bytes`;

/** A Standard Webhooks secret; its value never appears in a message. */
function isWebhookSecret(secret: string): boolean {
  if (!secret.startsWith(SECRET_PREFIX)) return false;
  const encoded = secret.slice(SECRET_PREFIX.length);
  if (!BASE64.test(encoded)) return false;
  const bytes = Buffer.from(encoded, 'base64').length;
  return bytes >= 24 && bytes <= 64;
}

/** The reason `text` is not a usable endpoint URL, or undefined. The URL is not echoed: it may hold a token. */
function urlProblem(text: string, httpsOnly: boolean): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(text);
  } catch {
    return 'url must be an absolute http or https URL';
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') return 'url must be an absolute http or https URL';
  if (parsed.username !== '' || parsed.password !== '') return 'url must not contain credentials';
  if (httpsOnly && parsed.protocol !== 'https:') return 'url must be https when NODE_ENV=production';
  return undefined;
}

const webhookEntrySchema = z.strictObject({
  orgId: z
    .string({ error: 'orgId must be a string' })
    .min(1, 'orgId must not be empty')
    .max(128, 'orgId is too long')
    .regex(/^[^\p{Cc}]*$/u, 'orgId must not contain control characters'),
  url: z.string({ error: 'url must be a string' }).max(2048, 'url is too long'),
  secret: z.string({ error: 'secret must be a string' }).refine(isWebhookSecret, SECRET_MESSAGE),
});

const webhooksFileSchema = z.object({
  webhooks: z.array(z.unknown(), { error: 'must be an object with a "webhooks" array' }),
});

/**
 * Parses the content of `WEBHOOKS_FILE`: `{ "webhooks": [ { orgId, url, secret } ] }`, at most one endpoint per
 * organization. Throws an Error whose one-line message names every bad entry by index and orgId; a secret
 * never appears in it. With `httpsOnly` (production) an `http` URL is refused.
 */
export function parseWebhooksFile(content: string, options: { httpsOnly: boolean }): WebhookEndpoints {
  let raw: unknown;
  try {
    raw = JSON.parse(content);
  } catch {
    throw new Error('is not valid JSON');
  }
  const file = webhooksFileSchema.safeParse(raw);
  if (!file.success) throw new Error(file.error.issues.map((issue) => issue.message).join('; '));

  const endpoints = new Map<string, WebhookEndpoint>();
  const seen = new Map<string, number>();
  const problems: string[] = [];
  file.data.webhooks.forEach((entry, index) => {
    const orgId = typeof entry === 'object' && entry !== null ? (entry as { orgId?: unknown }).orgId : undefined;
    const where =
      typeof orgId === 'string' ? `webhooks[${index}] (orgId ${JSON.stringify(orgId)})` : `webhooks[${index}]`;
    const parsed = webhookEntrySchema.safeParse(entry);
    const entryProblems = parsed.success
      ? []
      : parsed.error.issues.map((issue) =>
          issue.code === 'unrecognized_keys'
            ? `unknown properties: ${issue.keys.join(', ')}`
            : issue.code === 'invalid_type' && issue.path.length === 0
              ? 'must be an object with orgId, url and secret'
              : issue.message,
        );
    const url = typeof entry === 'object' && entry !== null ? (entry as { url?: unknown }).url : undefined;
    const badUrl = typeof url === 'string' && url.length <= 2048 ? urlProblem(url, options.httpsOnly) : undefined;
    if (badUrl) entryProblems.push(badUrl);
    if (parsed.success) {
      const earlier = seen.get(parsed.data.orgId);
      if (earlier !== undefined)
        entryProblems.push(`duplicate orgId (also webhooks[${earlier}]): one endpoint per organization`);
      else seen.set(parsed.data.orgId, index);
    }
    if (entryProblems.length > 0) {
      problems.push(...entryProblems.map((problem) => `${where}: ${problem}`));
      return;
    }
    if (parsed.success) endpoints.set(parsed.data.orgId, { url: parsed.data.url, secret: parsed.data.secret });
  });
  if (problems.length > 0) throw new Error(problems.join('; '));
  return endpoints;
}
