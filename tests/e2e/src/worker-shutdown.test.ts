import { eventually, keysFor, sleep, TestStack } from '@lockkeys/testing';

/**
 * SIGTERM to the worker while a command is at the lock: the command finishes, nothing is sent twice — whether
 * `addKey` runs as a local activity (the default) or as a regular one.
 */
describe.each(['local', 'remote'])('addKey as a %s activity', (activity) => {
  const stack = TestStack.forSuite({ name: `shutdown-${activity}`, env: { ADD_KEY_ACTIVITY: activity } });

  test('the in-flight addKey finishes before the worker exits; a new worker completes the run without a repeat', async () => {
    await stack.simulator.setFaults({ latencyMs: 2_500 }); // a slow hub: the command is at the lock for 2.5 s
    const { instanceId } = await stack.gateway.startRun(401, keysFor(401, [1, 2, 3], 'shutdown'));

    // What a client sees: the first key `adding` (from the run's query, or from its history while the workflow
    // task that runs a local activity is under way).
    await eventually(
      async () => {
        const status = await stack.gateway.status(401, instanceId);
        return status.status === 200 && 'keys' in status.body && status.body.keys[0]?.status === 'adding'
          ? true
          : undefined;
      },
      20_000,
      'the first key to be in flight',
    );
    await sleep(300);
    const worker = stack.services.worker!;
    const stopping = worker.stop('SIGTERM');
    await expect(worker.exited).resolves.toBe(0);
    await stopping;
    // The worker waited for the lock's answer: the first key is in the journal, once.
    expect((await stack.simulator.journal(401)).map((c) => [c.keyUuid, c.status])).toEqual([['shutdown-401-1', 201]]);

    await stack.simulator.setFaults({ latencyMs: 0 });
    await stack.start('worker');
    const result = await stack.gateway.waitForRun(401, instanceId, {
      until: (run) => run.status === 'complete',
      timeoutMs: 60_000,
      what: 'the run to complete on the new worker',
    });
    expect(result.keys.map((k) => [k.status, k.attempts])).toEqual([
      ['added', 1],
      ['added', 1],
      ['added', 1],
    ]);
    expect((await stack.simulator.journal(401)).map((c) => [c.keyUuid, c.status])).toEqual([
      ['shutdown-401-1', 201],
      ['shutdown-401-2', 201],
      ['shutdown-401-3', 201],
    ]);
  });
});
