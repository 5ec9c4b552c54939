import { drillStack, killWorkerWithCommandAtLock, report } from './support';

/** Drill 9: on the postgres engine, of its two workers the one with a command at the lock is killed (SIGKILL). */
const drill = drillStack('pg-worker-kill', {}, { engine: 'postgres' });

test('postgres engine, two workers: killing the one with a command at the lock loses no key and doubles none; the other finishes', async () => {
  const startedAt = Date.now();
  const workers = [drill.services.worker!, drill.services['worker-2']!] as const;
  const { runs, attempt, atKill, victim, survivor, killedAt, figures } = await killWorkerWithCommandAtLock(
    drill,
    workers,
    'pg-worker',
    91,
    92,
  );
  const inFlightKey = atKill.keys.find((key) => key.status === 'adding')!.keyUuid;

  // The survivor did the rest: every workflow task completed after the kill is its own.
  const client = await drill.temporalClient();
  const finishers = new Set<string>();
  for (const run of runs) {
    const { events } = await client.workflow.getHandle(run.instanceId).fetchHistory();
    for (const event of events ?? []) {
      const completed = event.workflowTaskCompletedEventAttributes;
      const at = Number(event.eventTime?.seconds ?? 0) * 1000 + Math.floor((event.eventTime?.nanos ?? 0) / 1e6);
      if (completed?.identity && at > killedAt) finishers.add(completed.identity);
    }
  }
  expect([...finishers].map((identity) => identity.split('@')[0])).toEqual([String(survivor.pid)]);
  // The command at the lock when the victim died: applied (201), then retried by the survivor and answered 200.
  const inFlight = (await drill.simulator.journal(attempt.run.lockId)).filter((c) => c.keyUuid === inFlightKey);
  expect(inFlight.map((c) => c.status)).toEqual([201, 200]);
  report(
    '9 postgres engine: one of two workers kill -9',
    startedAt,
    figures,
    `killed ${victim.name}, ${survivor.name} finished; the in-flight command's retry came ` +
      `${((inFlight[1]!.at - killedAt) / 1000).toFixed(1)} s after the kill`,
  );
});
