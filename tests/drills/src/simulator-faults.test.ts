import { sleep } from '@lockkeys/testing';
import { closedRuns, drillStack, expectEveryKeyAddedOnce, report, startBatch } from './support';

/** Drill 4: an unreliable lock backend: 30 % of commands 503, 10 % slow (2 s), one lock offline for 10 s. */
const drill = drillStack('simulator-faults');

test('503s, slow answers and a lock offline for 10 s are retried: every key lands once, gaps kept', async () => {
  const startedAt = Date.now();
  await drill.simulator.setFaults({ failureRate: 0.3, latencyMs: 2_000, slowRate: 0.1, seed: 'drill-4' });
  const runs = await startBatch(drill, 'faults', 41, 42);
  await drill.simulator.waitForCommands([41, 42], 3);

  await drill.simulator.setFaults({ offlineLocks: [41] });
  const offlineFrom = Date.now();
  await sleep(10_000);
  await drill.simulator.setFaults({ offlineLocks: [] });
  const offlineUntil = Date.now();

  const bodies = await closedRuns(drill, runs);
  const figures = await expectEveryKeyAddedOnce(drill, runs, bodies);
  // The faults did hit: injected 503s, and commands to lock 41 while it was offline (all answered 503).
  expect(figures.unavailable).toBeGreaterThan(0);
  const whileOffline = (await drill.simulator.journal(41)).filter(
    (c) => c.at >= offlineFrom && c.at < offlineUntil - 2_000,
  );
  expect(whileOffline.length).toBeGreaterThan(0);
  expect(whileOffline.filter((c) => c.status !== 503)).toEqual([]);
  report('4 simulator faults', startedAt, figures);
});
