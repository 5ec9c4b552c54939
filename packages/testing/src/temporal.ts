import { devServerArgs, ensureTemporalCli } from '@lockkeys/dev-stack';
import { TestWorkflowEnvironment } from '@temporalio/testing';

/** The project's Temporal CLI (`TEMPORAL_CLI`, `temporal` on PATH, or the cached build): dev-stack's locator. */
export { cachedCliPath, ensureTemporalCli, findTemporalCli, TEMPORAL_CLI_VERSION } from '@lockkeys/dev-stack';

/** The typed search-attribute keys every run carries (contracts' own). */
export { LOCK_ID_KEY, ORG_ID_KEY } from '@lockkeys/contracts';

/**
 * A real Temporal dev server of the suite's own: in memory, on 127.0.0.1 and a free port, from the project's CLI
 * (never the SDK's download), with lockkeys' server settings and search attributes (dev-stack's `devServerArgs`,
 * the same `npm run dev` uses). `extraArgs` go to `temporal server start-dev` (e.g.
 * `--dynamic-config-value`). Tear it down with `teardown()`.
 */
export function startTemporalDevServer(extraArgs: string[] = []): Promise<TestWorkflowEnvironment> {
  return TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: ensureTemporalCli() },
      ip: '127.0.0.1',
      extraArgs: [...devServerArgs(), ...extraArgs],
    },
  });
}
