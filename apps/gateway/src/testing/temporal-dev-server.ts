import { accessSync, constants } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { LOCK_ID_SEARCH_ATTRIBUTE } from '@lockkeys/contracts';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';

/** The CLI version `ensure-temporal` (packages/dev-stack) builds into the user cache. */
const TEMPORAL_CLI_VERSION = 'v1.5.1';

const isExecutable = (path: string) => {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

/**
 * The project's own Temporal CLI: `TEMPORAL_CLI`, else the cached build of `ensure-temporal`. dev-stack's
 * `ensureTemporalCli` cannot be imported here: dev-stack depends on the gateway.
 */
export function temporalCliPath(env: NodeJS.ProcessEnv = process.env): string {
  const cacheRoot = env.XDG_CACHE_HOME || join(homedir(), '.cache');
  const path = env.TEMPORAL_CLI || join(cacheRoot, 'lockkeys', 'temporal-cli', TEMPORAL_CLI_VERSION, 'temporal');
  if (!isExecutable(path)) {
    throw new Error(
      `No Temporal CLI at ${path}: run \`node packages/dev-stack/dist/cli.js ensure-temporal\` (npm test does) or set TEMPORAL_CLI`,
    );
  }
  return path;
}

/** A Temporal dev server of its own (in-memory, 127.0.0.1, a free port) with the `LockId` search attribute. */
export function startTemporalDevServer(): Promise<TestWorkflowEnvironment> {
  return TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: temporalCliPath() },
      ip: '127.0.0.1',
      searchAttributes: [defineSearchAttributeKey(LOCK_ID_SEARCH_ATTRIBUTE, SearchAttributeType.INT)],
    },
  });
}
