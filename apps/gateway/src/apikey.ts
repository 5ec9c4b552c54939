import { randomBytes } from 'node:crypto';
import { lockIdSchema } from '@lockkeys/contracts';
import { type ApiKeyRecord, apiKeyEntrySchema, sha256Hex } from './auth';

/** A freshly minted API key: the secret to hand out once, and the entry (hash only) for `API_KEYS_FILE`. */
export interface NewApiKey {
  /** The key itself; shown once, stored nowhere by the gateway. */
  key: string;
  /** The line to add to the `keys` array of `API_KEYS_FILE`. */
  entry: ApiKeyRecord;
}

// 256 bits from the CSPRNG: guessing is hopeless, so the unsalted sha256 in the key file is enough.
const KEY_BYTES = 32;
const KEY_PREFIX = 'lk_';

/**
 * Mints a key for `orgId` on `locks` (lock ids or `*`). `id` defaults to the organization plus a random
 * suffix. Throws an Error with a one-line message when an argument would make an entry the gateway refuses.
 */
export function createApiKey(options: { orgId: string; locks: string; id?: string }): NewApiKey {
  const locks = parseLocks(options.locks);
  const key = `${KEY_PREFIX}${randomBytes(KEY_BYTES).toString('base64url')}`;
  const id = options.id ?? `${options.orgId.slice(0, 100)}-${randomBytes(3).toString('hex')}`;
  // The same schema the gateway applies at start-up: what the CLI prints, the gateway accepts.
  const parsed = apiKeyEntrySchema.safeParse({ id, sha256: sha256Hex(key), orgId: options.orgId, locks });
  if (!parsed.success) throw new Error(parsed.error.issues.map((issue) => issue.message).join('; '));
  return { key, entry: parsed.data };
}

/** `*`, or comma-separated lock ids (`123,124`), checked like the `lockId` of a URL. */
function parseLocks(text: string): number[] | '*' {
  if (text.trim() === '*') return '*';
  const locks: number[] = [];
  for (const part of text.split(',')) {
    const lockId = lockIdSchema.safeParse(part.trim());
    if (!lockId.success)
      throw new Error(`--locks: ${JSON.stringify(part.trim())} is not a lock id (use 123,124 or "*")`);
    if (!locks.includes(lockId.data)) locks.push(lockId.data);
  }
  return locks;
}
