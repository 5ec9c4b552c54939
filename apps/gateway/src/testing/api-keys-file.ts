import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sha256Hex } from '../auth';

/** One API key of a test's `API_KEYS_FILE`, given in clear: the file holds only its sha256, as in production. */
export interface TestApiKey {
  id: string;
  key: string;
  orgId: string;
  locks: number[] | '*';
  revoked?: boolean;
}

/** An `API_KEYS_FILE` written for a suite; `remove()` deletes it and its temp dir. */
export interface TestApiKeysFile {
  path: string;
  remove(): void;
}

/** Writes `keys` as an `API_KEYS_FILE` in a temp dir of its own. */
export function writeApiKeysFile(keys: readonly TestApiKey[]): TestApiKeysFile {
  const dir = mkdtempSync(join(tmpdir(), 'gateway-keys-'));
  const path = join(dir, 'api-keys.json');
  const entries = keys.map(({ key, ...entry }) => ({ ...entry, sha256: sha256Hex(key) }));
  writeFileSync(path, JSON.stringify({ keys: entries }));
  return { path, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
