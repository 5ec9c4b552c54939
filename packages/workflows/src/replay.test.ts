import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { WORKFLOW_BUNDLE } from './testing/environment';
import { HISTORIES_DIR } from './testing/record-histories';

Runtime.install({ logger: new DefaultLogger('ERROR') });

/**
 * The determinism guard: histories recorded from real runs must replay against the current workflow code.
 * A change that breaks replay would break every run in flight when it is deployed. Refresh the fixtures
 * only on purpose: `pnpm --filter @lockkeys/workflows record-histories` (see README "Run lifecycle").
 */
const files = readdirSync(HISTORIES_DIR).filter((f) => f.endsWith('.json')).sort();

test('there are fixtures for every recorded scenario', () => {
  const scenarios = new Set(files.map((f) => f.replace(/(\.run\d+)?\.json$/, '')));
  expect([...scenarios].sort()).toEqual(
    ['cancel', 'continue-as-new', 'failed-key', 'happy-path', 'lock-holder', 'lock-mutex', 'retries', 'unknown-lock', 'waiting-for-lock'],
  );
  expect(files.filter((f) => f.startsWith('continue-as-new.run')).length).toBeGreaterThanOrEqual(2);
});

test('every recorded history replays against the current workflow code', async () => {
  const histories = files.map((file) => ({
    workflowId: file,
    history: historyFromJSON(JSON.parse(readFileSync(join(HISTORIES_DIR, file), 'utf8'))),
  }));
  const failures: string[] = [];
  for await (const result of Worker.runReplayHistories({ workflowBundle: { codePath: WORKFLOW_BUNDLE } }, histories)) {
    if (result.error) failures.push(`${result.workflowId}: ${result.error.message}`);
  }
  expect(failures).toEqual([]);
  expect(histories).toHaveLength(files.length);
});
