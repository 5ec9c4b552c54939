import {
  pauseSignal,
  progressQuery,
  resumeSignal,
  type BulkAddKeysProgress,
  type RunSettings,
} from '@lockkeys/contracts';
import type { WorkflowHandle } from '@temporalio/client';
import { devServerForSuite, startRun, testKeys as keys, testSettings, testWorkers, until } from './testing/environment';
import { gapsBetween, LockBackendFailureType, ScriptedLockBackend } from './testing/scripted-lock-backend';

const suite = devServerForSuite();

/** Runs one workflow to its end on fresh workers with `lockBackend`. */
async function run(
  input: { lockId: number; keys: ReturnType<typeof keys> },
  lockBackend: ScriptedLockBackend,
  runSettings: RunSettings,
  duringRun?: (handle: WorkflowHandle) => Promise<void>,
): Promise<{ result: BulkAddKeysProgress; history: History }> {
  const { workers, taskQueue } = await testWorkers(suite.env, lockBackend, runSettings);
  return workers.runUntil(async () => {
    const handle = await startRun(suite.env, taskQueue, input);
    await duringRun?.(handle);
    const result = await handle.result();
    return { result, history: await handle.fetchHistory() };
  });
}

type History = Awaited<ReturnType<WorkflowHandle['fetchHistory']>>;
type HistoryEvent = NonNullable<History['events']>[number];
const eventName = (event: HistoryEvent) => Object.keys(event).find((k) => k.endsWith('EventAttributes'))!;
const millis = (event: HistoryEvent) => Number(event.eventTime!.seconds) * 1000 + (event.eventTime!.nanos ?? 0) / 1e6;
const protoMillis = (t: { seconds?: unknown; nanos?: number | null }) =>
  Number(t.seconds) * 1000 + (t.nanos ?? 0) / 1e6;

/** The local-activity marker's own record (core's marker data: type, attempt, times). */
function localActivityOf(
  event: HistoryEvent,
): { activity_type: string; complete_time: never; original_schedule_time: never } | undefined {
  const payload = event.markerRecordedEventAttributes?.details?.data?.payloads?.[0]?.data;
  return payload ? JSON.parse(Buffer.from(payload).toString('utf8')) : undefined;
}

/** Each `addKey` in history order, whether it ran as a local activity (a marker) or a regular one. */
function addKeyEvents(events: readonly HistoryEvent[]): { index: number; durationMs: number }[] {
  const startedAt = new Map<string, number>();
  const found: { index: number; durationMs: number }[] = [];
  events.forEach((event, index) => {
    const local = localActivityOf(event);
    if (local?.activity_type === 'addKey') {
      found.push({ index, durationMs: protoMillis(local.complete_time) - protoMillis(local.original_schedule_time) });
    }
    if (event.activityTaskScheduledEventAttributes?.activityType?.name === 'addKey')
      found.push({ index, durationMs: NaN });
    if (event.activityTaskStartedEventAttributes) {
      startedAt.set(String(event.activityTaskStartedEventAttributes.scheduledEventId), millis(event));
    }
    const completed = event.activityTaskCompletedEventAttributes;
    if (completed) {
      const scheduled = events.findIndex((e) => String(e.eventId) === String(completed.scheduledEventId));
      const entry = found.find((f) => f.index === scheduled);
      if (entry) entry.durationMs = millis(event) - startedAt.get(String(completed.scheduledEventId))!;
    }
  });
  return found;
}

describe.each(['local', 'remote'] as const)('bulkAddKeys with addKey as a %s activity', (activity) => {
  const settings = (gapMs: number, over: Partial<RunSettings> = {}) => {
    const base = testSettings(gapMs, over);
    return { ...base, addKey: { ...base.addKey, activity } };
  };
  // A lock's mutex outlives a test (it ends only on its own task queue's worker): each mode has its own locks.
  const lock = (n: number) => (activity === 'remote' ? 1_000 + n : n);

  test('sends every key once, in request order, at least the configured gap apart', async () => {
    const backend = new ScriptedLockBackend();
    const input = { lockId: lock(7), keys: keys(4) };
    const { result } = await run(input, backend, settings(1_000));

    expect(backend.commands.map((c) => c.key)).toEqual(input.keys);
    expect(backend.commands.every((c) => c.lockId === lock(7))).toBe(true);
    for (const gap of gapsBetween(backend.commands)) expect(gap).toBeGreaterThanOrEqual(1_000);
    expect(result.summary).toEqual({ total: 4, added: 4, failed: 0, pending: 0, cancelled: 0 });
    expect(result.phase).toBe('done');
    expect(result.keys.map((k) => [k.status, k.attempts, k.error])).toEqual(Array(4).fill(['added', 1, null]));
  });

  test('the loop as designed: per key an addKey activity, a timer between two keys, none after the last', async () => {
    const { history } = await run({ lockId: lock(15), keys: keys(3) }, new ScriptedLockBackend(), settings(500));
    const events = history.events ?? [];
    // The shape of the run: addKey activities (A) and timers (T) in history order.
    const activities = new Set(addKeyEvents(events).map((a) => a.index));
    const shape = events
      .map((event, i) => (activities.has(i) ? 'A' : event.timerStartedEventAttributes ? 'T' : ''))
      .join('');
    expect(shape).toBe('ATATA');
    const timers = events.filter((e) => e.timerStartedEventAttributes);
    expect(
      timers.map(
        (t) =>
          Number(t.timerStartedEventAttributes!.startToFireTimeout!.seconds ?? 0) * 1000 +
          (t.timerStartedEventAttributes!.startToFireTimeout!.nanos ?? 0) / 1e6,
      ),
    ).toEqual([500, 500]);
    expect(events.filter((e) => e.timerFiredEventAttributes)).toHaveLength(2);
    expect(eventName(events.at(-1)!)).toBe('workflowExecutionCompletedEventAttributes');
  });

  test('with a 5 s gap and a lock that answers at once, no addKey attempt lasts anywhere near 5 s', async () => {
    const { history } = await run({ lockId: lock(16), keys: keys(2) }, new ScriptedLockBackend(), settings(5_000));
    const events = history.events ?? [];
    const durations = addKeyEvents(events).map((a) => a.durationMs);
    expect(durations).toHaveLength(2);
    for (const duration of durations) expect(duration).toBeLessThan(1_000);
    const timer = events.find((e) => e.timerStartedEventAttributes)!;
    expect(Number(timer.timerStartedEventAttributes!.startToFireTimeout!.seconds)).toBe(5);
  }, 30_000);

  test('a key the lock refuses with 409 is failed, the others are added', async () => {
    const input = { lockId: lock(8), keys: keys(3) };
    const backend = new ScriptedLockBackend().script(input.keys[1]!.keyUuid, LockBackendFailureType.SlotOccupied);
    const { result } = await run(input, backend, settings(100));

    expect(backend.commands).toHaveLength(3); // final: not retried
    expect(result.keys.map((k) => k.status)).toEqual(['added', 'failed', 'added']);
    expect(result.keys[1]).toMatchObject({ attempts: 1, error: { type: 'SlotOccupied' } });
    expect(result.summary).toMatchObject({ added: 2, failed: 1 });
  });

  test('a 422 (index out of range) fails that key only', async () => {
    const input = { lockId: lock(14), keys: keys(2) };
    const backend = new ScriptedLockBackend().script(input.keys[0]!.keyUuid, LockBackendFailureType.KeyIndexOutOfRange);
    const { result } = await run(input, backend, settings(100));
    expect(result.keys.map((k) => [k.status, k.error?.type ?? null])).toEqual([
      ['failed', 'KeyIndexOutOfRange'],
      ['added', null],
    ]);
  });

  test('a lock that answers 503 twice, then takes the key: added after 3 attempts at least 1 s apart', async () => {
    const input = { lockId: lock(9), keys: keys(1) };
    const backend = new ScriptedLockBackend().script(
      input.keys[0]!.keyUuid,
      LockBackendFailureType.LockOffline,
      LockBackendFailureType.LockOffline,
    );
    const { result } = await run(input, backend, settings(100));

    expect(backend.commands).toHaveLength(3);
    for (const gap of gapsBetween(backend.commands)) expect(gap).toBeGreaterThanOrEqual(1_000);
    expect(result.keys[0]).toMatchObject({ status: 'added', attempts: 3, error: null });
  });

  test('retries never come sooner than the command gap, even when the retry policy says sooner', async () => {
    const input = { lockId: lock(10), keys: keys(2) };
    const backend = new ScriptedLockBackend().script(input.keys[0]!.keyUuid, LockBackendFailureType.LockBusy);
    const fast = settings(1_500);
    fast.addKey.initialIntervalMs = 100;
    await run(input, backend, fast);

    expect(backend.commands).toHaveLength(3);
    for (const gap of gapsBetween(backend.commands)) expect(gap).toBeGreaterThanOrEqual(1_500);
  });

  test('an unknown lock (404) fails every remaining key at once without more commands', async () => {
    const input = { lockId: lock(11), keys: keys(3) };
    const backend = new ScriptedLockBackend().script(input.keys[0]!.keyUuid, LockBackendFailureType.LockNotFound);
    const { result } = await run(input, backend, settings(100));

    expect(backend.commands).toHaveLength(1);
    expect(result.keys.map((k) => [k.status, k.error?.type])).toEqual(Array(3).fill(['failed', 'LockNotFound']));
    expect(result.summary).toMatchObject({ failed: 3, added: 0 });
  });

  test('attempts exhausted: the key is failed with the last reason and the run goes on', async () => {
    const input = { lockId: lock(12), keys: keys(2) };
    const backend = new ScriptedLockBackend().script(
      input.keys[0]!.keyUuid,
      ...Array(5).fill(LockBackendFailureType.LockOffline),
    );
    const { result } = await run(
      input,
      backend,
      settings(100, { addKey: { ...settings(100).addKey, maximumAttempts: 2 } }),
    );

    expect(backend.commands.map((c) => c.key.keyUuid)).toEqual([
      input.keys[0]!.keyUuid,
      input.keys[0]!.keyUuid,
      input.keys[1]!.keyUuid,
    ]);
    expect(result.keys[0]).toMatchObject({ status: 'failed', attempts: 2, error: { type: 'LockOffline' } });
    expect(result.keys[1]).toMatchObject({ status: 'added' });
  });

  test('progress is readable while the run goes on, and the summary lands in the memo at the end', async () => {
    const input = { lockId: lock(13), keys: keys(3) };
    let midRun: BulkAddKeysProgress | undefined;
    let memo: Record<string, unknown> | undefined;
    await run(input, new ScriptedLockBackend(), settings(1_000), async (handle) => {
      await until(async () => {
        midRun = await handle.query(progressQuery);
        return midRun.summary.added >= 1;
      });
      await handle.result();
      memo = (await handle.describe()).memo;
    });
    expect(midRun?.phase).toBe('running');
    expect(midRun?.summary.added).toBeGreaterThanOrEqual(1);
    expect(midRun?.summary.pending).toBeGreaterThanOrEqual(1);
    expect(midRun?.keys[2]?.status).toBe('pending');
    expect(memo).toMatchObject({ orgId: 'acme', summary: { total: 3, added: 3 } });
  });
});

describe.each(['local', 'remote'] as const)('cancel, addKey as a %s activity', (activity) => {
  const settings = (gapMs: number, over: Partial<RunSettings> = {}) => {
    const base = testSettings(gapMs, over);
    return { ...base, addKey: { ...base.addKey, activity } };
  };
  // A lock's mutex outlives a test (it ends only on its own task queue's worker): each mode has its own locks.
  const lock = (n: number) => (activity === 'remote' ? 1_000 + n : n);

  test('mid-run: the command in flight finishes, every key not yet sent ends cancelled, the run is cancelled', async () => {
    const backend = new ScriptedLockBackend(1_500); // each command takes 1.5 s at the lock
    const { workers, taskQueue } = await testWorkers(suite.env, backend, settings(500));
    await workers.runUntil(async () => {
      const handle = await startRun(suite.env, taskQueue, { lockId: lock(21), keys: keys(4) });
      // Cancel while the second key's command is at the lock.
      await until(async () => backend.commands.length === 2);
      await handle.cancel();
      await expect(handle.result()).rejects.toThrow();
      expect((await handle.describe()).status.name).toBe('CANCELLED');

      // A closed run still answers its progress query (the worker replays it).
      const progress = await handle.query(progressQuery);
      expect(progress.keys.map((k) => k.status)).toEqual(['added', 'added', 'cancelled', 'cancelled']);
      expect(progress.summary).toMatchObject({ added: 2, cancelled: 2, pending: 0 });
      expect(backend.commands).toHaveLength(2);
    });
  });

  test('a key waiting for its retry is not sent again', async () => {
    const input = { lockId: lock(22), keys: keys(2) };
    const backend = new ScriptedLockBackend().script(
      input.keys[0]!.keyUuid,
      ...Array(5).fill(LockBackendFailureType.LockOffline),
    );
    const slowRetries = settings(100, { addKey: { ...settings(100).addKey, initialIntervalMs: 30_000 } });
    const { workers, taskQueue } = await testWorkers(suite.env, backend, slowRetries);
    await workers.runUntil(async () => {
      const handle = await startRun(suite.env, taskQueue, input);
      await until(async () => backend.commands.length === 1);
      await new Promise((r) => setTimeout(r, 300)); // the failure is reported; the retry waits 30 s
      await handle.cancel();
      await expect(handle.result()).rejects.toThrow();
      const progress = await handle.query(progressQuery);
      expect(progress.keys.map((k) => k.status)).toEqual(['cancelled', 'cancelled']);
      expect(backend.commands).toHaveLength(1);
    });
  });
});

const settings = testSettings;

describe('one lock at a time', () => {
  test('three runs on one lock never interleave and stay a gap apart; a run on another lock is not held up', async () => {
    const backend = new ScriptedLockBackend();
    const { workers, taskQueue } = await testWorkers(suite.env, backend, settings(400));
    await workers.runUntil(async () => {
      const runsOnA = [await startRun(suite.env, taskQueue, { lockId: 31, keys: keys(3, 0) })];
      runsOnA.push(
        ...(await Promise.all(
          [1, 2].map((n) => startRun(suite.env, taskQueue, { lockId: 31, keys: keys(3, 10 * n) })),
        )),
      );
      // While the first holds lock 31, the others wait: queued keys stay pending.
      await until(async () => backend.commands.length >= 1);
      const phases = await Promise.all(runsOnA.map((h) => h.query(progressQuery)));
      const waiting = phases.filter((p) => p.phase === 'queued');
      expect(waiting).toHaveLength(2);
      expect(waiting.every((p) => p.keys.every((k) => k.status === 'pending'))).toBe(true);

      const other = await startRun(suite.env, taskQueue, { lockId: 32, keys: keys(2) });
      const otherStartedAt = Date.now();
      await Promise.all([...runsOnA, other].map((h) => h.result()));

      const onA = backend.commands.filter((c) => c.lockId === 31);
      expect(onA).toHaveLength(9);
      for (const gap of gapsBetween(onA)) expect(gap).toBeGreaterThanOrEqual(400);
      // Each run's keys go out together: runs do not interleave on the lock.
      const order = onA.map((c) => Math.floor(c.key.keyIndexNumber / 10));
      const blocks = order.filter((run, i) => i === 0 || run !== order[i - 1]);
      expect(blocks).toHaveLength(3);
      expect(new Set(blocks).size).toBe(3);
      // Lock 32's first command did not wait for lock 31's queue (~9 × 400 ms).
      const firstOnB = backend.commands.find((c) => c.lockId === 32)!;
      expect(firstOnB.at - otherStartedAt).toBeLessThan(1_500);
    });
  });

  test('runs that release as soon as they are granted hand the lock on at once (the grant/release race)', async () => {
    // Each queued run is cancelled while it waits, so its release can meet its grant in flight at the mutex.
    const backend = new ScriptedLockBackend(300);
    const { workers, taskQueue } = await testWorkers(suite.env, backend, settings(200));
    await workers.runUntil(async () => {
      const first = await startRun(suite.env, taskQueue, { lockId: 34, keys: keys(2, 0) });
      await until(async () => backend.commands.length >= 1);
      const middle = await Promise.all(
        [1, 2, 3].map((n) => startRun(suite.env, taskQueue, { lockId: 34, keys: keys(1, 10 * n) })),
      );
      const last = await startRun(suite.env, taskQueue, { lockId: 34, keys: keys(1, 90) });
      await until(async () => (await last.query(progressQuery)).phase === 'queued');
      await Promise.all(middle.map((h) => h.cancel()));
      const firstDoneAt = await first.result().then(() => Date.now());
      await last.result();
      const lastCommand = backend.commands.find((c) => c.key.keyIndexNumber === 90)!;
      // Well under the 5 s holder check of these settings: no cancelled run kept the lock.
      expect(lastCommand.at - firstDoneAt).toBeLessThan(2_500);
    });
  });

  test('a run cancelled while waiting for the lock leaves the queue; the next run gets the lock', async () => {
    const backend = new ScriptedLockBackend();
    const { workers, taskQueue } = await testWorkers(suite.env, backend, settings(300));
    await workers.runUntil(async () => {
      const first = await startRun(suite.env, taskQueue, { lockId: 33, keys: keys(3, 0) });
      await until(async () => backend.commands.length >= 1);
      const second = await startRun(suite.env, taskQueue, { lockId: 33, keys: keys(2, 10) });
      const third = await startRun(suite.env, taskQueue, { lockId: 33, keys: keys(2, 20) });
      await until(async () => (await second.query(progressQuery)).phase === 'queued');
      await second.cancel();
      await expect(second.result()).rejects.toThrow();
      await first.result();
      await third.result();
      expect(backend.commands.map((c) => c.key.keyIndexNumber)).toEqual([0, 1, 2, 20, 21]);
    });
  });

  test('a run cancelled before its first task still tells its lock: its place is free at once, not at the review', async () => {
    const backend = new ScriptedLockBackend();
    const lockId = 36;
    const slow = settings(300);
    // Only the locks are served at first: the runs get no task, so the cancel comes before the second one's first.
    const locksOnly = await testWorkers(suite.env, backend, slow, undefined, { queues: ['locks'] });
    const { taskQueue } = locksOnly;
    const twoRuns = 2;
    const [holder, cancelled] = await locksOnly.workers.runUntil(async () => {
      const holder = await startRun(suite.env, taskQueue, { lockId, keys: keys(30, 0) }, undefined, twoRuns);
      const cancelled = await startRun(suite.env, taskQueue, { lockId, keys: keys(1, 50) }, undefined, twoRuns);
      await cancelled.cancel();
      return [holder, cancelled];
    });
    const { workers } = await testWorkers(suite.env, backend, slow, undefined, { taskQueue });
    await workers.runUntil(async () => {
      await expect(cancelled.result()).rejects.toThrow();
      // The lock's first review is 15 s after its start: a place freed only by it would keep the third out till then.
      const third = `test-${lockId}-third-${Date.now()}`;
      await until(async () => {
        await startRun(suite.env, taskQueue, { lockId, keys: keys(1, 60) }, third, twoRuns);
        return true;
      }, 5_000);
      expect((await holder.describe()).status.name).toBe('RUNNING');
      await holder.cancel();
      await suite.env.client.workflow.getHandle(third).cancel();
    });
    expect(backend.commands.filter((c) => c.key.keyIndexNumber === 50)).toEqual([]);
  });

  test('a holder that was terminated does not block the lock for ever', async () => {
    const backend = new ScriptedLockBackend(2_000);
    const quick = settings(200, { lockHolderCheckIntervalMs: 1_000 });
    const { workers, taskQueue } = await testWorkers(suite.env, backend, quick);
    await workers.runUntil(async () => {
      const holder = await startRun(suite.env, taskQueue, { lockId: 35, keys: keys(3, 0) });
      await until(async () => backend.commands.length >= 1);
      const next = await startRun(suite.env, taskQueue, { lockId: 35, keys: keys(1, 10) });
      await holder.terminate('operator');
      await next.result();
      if (backend.commands.length !== 2) {
        const h = await next.fetchHistory();
        console.log(JSON.stringify(backend.commands.map((c) => [c.at, c.key.keyIndexNumber])));
        console.log(
          h.events
            ?.map(
              (e) =>
                `${e.eventTime?.seconds}.${e.eventTime?.nanos} ${e.eventType} ${JSON.stringify(e.markerRecordedEventAttributes?.details?.data?.payloads?.[0]?.data ? Buffer.from(e.markerRecordedEventAttributes.details.data.payloads[0].data).toString() : '')} ${JSON.stringify(e.workflowTaskTimedOutEventAttributes ?? e.workflowTaskFailedEventAttributes ?? '')}`,
            )
            .join('\n'),
        );
      }
      expect(backend.commands.map((c) => c.key.keyIndexNumber)).toEqual([0, 10]);
      // The vanished holder's command may still be at the lock: the next one waits out its timeout.
      expect(gapsBetween(backend.commands)[0]).toBeGreaterThanOrEqual(quick.addKey.startToCloseTimeoutMs);
    });
  }, 60_000);
});

describe('pause and resume', () => {
  test('pause mid-run: nothing reaches the lock while paused, another run goes ahead, resume completes every key once', async () => {
    const backend = new ScriptedLockBackend();
    const { workers, taskQueue } = await testWorkers(suite.env, backend, settings(300));
    await workers.runUntil(async () => {
      const paused = await startRun(suite.env, taskQueue, { lockId: 51, keys: keys(4, 0) });
      await until(async () => backend.commands.length >= 1);
      await paused.signal(pauseSignal);
      await until(async () => (await paused.query(progressQuery)).phase === 'paused');
      const sentBeforePause = backend.commands.length;
      const history = (await paused.fetchHistory()).events?.length;

      const other = await startRun(suite.env, taskQueue, { lockId: 51, keys: keys(2, 10) });
      await other.result(); // the lock went to the other run
      await new Promise((r) => setTimeout(r, 800));
      expect(backend.commands.filter((c) => c.key.keyIndexNumber < 10)).toHaveLength(sentBeforePause);
      // A paused run waits without timers: its history did not grow while it waited.
      expect((await paused.fetchHistory()).events?.length).toBe(history);
      expect((await paused.query(progressQuery)).phase).toBe('paused');
      // The Web UI shows the run's current details: that it is paused.
      const metadata = await paused.query<{ currentDetails?: string }>('__temporal_workflow_metadata');
      expect(metadata.currentDetails).toMatch(/^paused: 1\/4 added, 0 failed$/);

      await paused.signal(resumeSignal);
      const result = await paused.result();
      expect(result.summary).toMatchObject({ total: 4, added: 4 });
      const ofPaused = backend.commands.filter((c) => c.key.keyIndexNumber < 10);
      expect(ofPaused.map((c) => c.key.keyIndexNumber)).toEqual([0, 1, 2, 3]);
      for (const gap of gapsBetween(backend.commands)) expect(gap).toBeGreaterThanOrEqual(300);
    });
  }, 60_000);

  test('cancel works while paused; pausing twice changes nothing', async () => {
    const backend = new ScriptedLockBackend();
    const { workers, taskQueue } = await testWorkers(suite.env, backend, settings(300));
    await workers.runUntil(async () => {
      const handle = await startRun(suite.env, taskQueue, { lockId: 52, keys: keys(3, 0) });
      await until(async () => backend.commands.length >= 1);
      await handle.signal(pauseSignal);
      await handle.signal(pauseSignal);
      await until(async () => (await handle.query(progressQuery)).phase === 'paused');
      await handle.cancel();
      await expect(handle.result()).rejects.toThrow();
      const progress = await handle.query(progressQuery);
      expect(progress.keys.filter((k) => k.status === 'cancelled').length).toBeGreaterThanOrEqual(1);
      expect(progress.summary.pending).toBe(0);
      // The lock is free: the mutex holds nobody.
      const next = await startRun(suite.env, taskQueue, { lockId: 52, keys: keys(1, 10) });
      await next.result();
    });
  });
});
