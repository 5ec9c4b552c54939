import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/** The repository root: suites start the built apps from it. */
export const ROOT_DIR = resolve(__dirname, '..', '..', '..');

/** A new empty directory `lockkeys-<prefix>-XXXXXX` under `parent` (default: the OS temp dir). */
export const scratchDir = (prefix: string, parent = tmpdir()): string =>
  mkdtempSync(join(parent, `lockkeys-${prefix}-`));
