import { resolve } from 'node:path';

/** The repository root (this file sits in tests/deploy/src, or tests/deploy/dist once compiled). */
export const REPO_ROOT = resolve(__dirname, '..', '..', '..');

/** A path inside the repository. */
export const repoPath = (...parts: string[]) => resolve(REPO_ROOT, ...parts);
