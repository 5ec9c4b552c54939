import { keyIndexes, keysFor, TestStack } from '@lockkeys/testing';

/**
 * 1000 keys in one request, on a server that suggests continue-as-new early: every key is added exactly
 * once and the status survives continue-as-new. The gap is lowered in this test only (at the worker
 * and at the simulator), so the batch takes seconds, not 17 minutes.
 */
const stack = TestStack.forSuite({
  name: 'big',
  env: {
    KEY_COMMAND_GAP_MS: '0',
    LOCK_SIM_MIN_GAP_MS: '0',
    KEYS_PER_WORKFLOW_RUN: '100000',
    // With no gap there is no timer between keys: as local activities the whole batch would run in one workflow
    // task and the server's suggestion would never be read. Regular activities make each key a task of its own.
    ADD_KEY_ACTIVITY: 'remote',
    MAX_KEYS_PER_REQUEST: '5000',
  },
  temporalArgs: ['--dynamic-config-value', 'limit.historyCount.suggestContinueAsNew=1500'],
});

test('a 1000-key run crosses continue-as-new at least twice and adds every key exactly once', async () => {
  const indexes = keyIndexes(1000);
  const { instanceId } = await stack.gateway.startRun(701, keysFor(701, indexes, 'big'));

  const done = await stack.gateway.waitForRun(701, instanceId, {
    until: (run) => run.status === 'complete',
    timeoutMs: 300_000,
    what: 'the 1000-key run to complete',
  });
  expect(done.summary).toEqual({ total: 1000, added: 1000, failed: 0, pending: 0, cancelled: 0 });
  expect(done.keys.map((k) => k.keyIndexNumber)).toEqual(indexes);

  const commands = await stack.simulator.journal(701);
  expect(commands).toHaveLength(1000);
  expect(commands.every((c) => c.status === 201)).toBe(true);
  expect(new Set(commands.map((c) => c.keyUuid)).size).toBe(1000);
  expect((await stack.simulator.slots(701)).length).toBe(1000);

  const runs: string[] = [];
  const temporal = await stack.temporalClient();
  for await (const run of temporal.workflow.list({ query: `WorkflowId = '${instanceId}'` })) {
    runs.push(run.status.name);
  }
  expect(runs.filter((s) => s === 'CONTINUED_AS_NEW').length).toBeGreaterThanOrEqual(2);
});
