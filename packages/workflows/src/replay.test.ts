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
// One folder per generation of the workflow code: runs recorded before a patch must still replay after it.
const generations = readdirSync(HISTORIES_DIR).sort();
const files = generations.flatMap((generation) =>
  readdirSync(join(HISTORIES_DIR, generation))
    .filter((f) => f.endsWith('.json'))
    .map((f) => join(generation, f)),
);

test.each(generations)('%s has a fixture for every recorded scenario', (generation) => {
  const names = files.filter((f) => f.startsWith(`${generation}/`)).map((f) => f.slice(generation.length + 1));
  const scenarios = new Set(names.map((f) => f.replace(/(\.run\d+)?\.json$/, '')));
  expect([...scenarios].sort()).toEqual([
    'cancel',
    'continue-as-new',
    'failed-key',
    'happy-path',
    'lock-holder',
    'lock-mutex',
    'retries',
    'unknown-lock',
    'waiting-for-lock',
  ]);
  expect(names.filter((f) => f.startsWith('continue-as-new.run')).length).toBeGreaterThanOrEqual(2);
});

test('both the generation before the command-gap patch and the current one are kept', () => {
  expect(generations).toEqual(['before-gap-in-activity', 'current']);
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
