import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { WORKFLOW_BUNDLE } from './testing/environment';
import { CURRENT_GENERATION, DEV_ONLY_SCENARIOS, HISTORIES_DIR, SCENARIOS } from './testing/record-histories';

Runtime.install({ logger: new DefaultLogger('ERROR') });

/**
 * The determinism guard: histories recorded from real runs, on each engine, must replay against the current
 * workflow code. A change that breaks replay would break every run in flight when it is deployed. Refresh the
 * fixtures only on purpose: `pnpm --filter @lockkeys/workflows record-histories` (see README "Determinism").
 */
const folders = readdirSync(HISTORIES_DIR).flatMap((generation) =>
  readdirSync(join(HISTORIES_DIR, generation)).map((engine) => join(generation, engine)),
);
const files = folders.flatMap((folder) =>
  readdirSync(join(HISTORIES_DIR, folder))
    .filter((f) => f.endsWith('.json'))
    .map((f) => join(folder, f)),
);

test('the current generation has recordings from both engines', () => {
  expect(folders.filter((f) => f.startsWith(`${CURRENT_GENERATION}/`)).sort()).toEqual([
    `${CURRENT_GENERATION}/dev`,
    `${CURRENT_GENERATION}/postgres`,
  ]);
});

test.each(folders)('%s has a fixture for every recorded scenario', (folder) => {
  const names = files.filter((f) => f.startsWith(`${folder}/`)).map((f) => f.slice(folder.length + 1));
  const scenarios = new Set(names.map((f) => f.replace(/(\.run\d+)?\.json$/, '')));
  const expected = folder.endsWith('/dev') ? [...SCENARIOS, ...DEV_ONLY_SCENARIOS] : [...SCENARIOS];
  expect([...scenarios].sort()).toEqual(expected.sort());
  expect(names.filter((f) => f.startsWith('continue-as-new.run')).length).toBeGreaterThanOrEqual(2);
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
