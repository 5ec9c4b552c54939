import { listens } from '@lockkeys/testing';
import { burstOfPosts, drillStack, expectBurstKept, report, signalEngineProcess, type EngineOutage } from './support';

const ADMISSION_TIMEOUT_MS = 10_000;

/**
 * Drill 11: on the postgres engine, a burst of POSTs while the history service dies (SIGKILL) and the engine's
 * restart policy brings it back: admissions and starts in flight meet a server that cannot answer.
 */
const drill = drillStack(
  'pg-history-kill-burst',
  { ADMISSION_TIMEOUT_MS: String(ADMISSION_TIMEOUT_MS) },
  { engine: 'postgres' },
);

test('history kill -9 during a burst of POSTs (postgres): every 202 gets its keys once, no 503 is followed by a run', async () => {
  const startedAt = Date.now();
  let outage: EngineOutage | undefined;
  const posts = await burstOfPosts(drill, 'hburst', [111, 112, 113, 114, 115, 116, 117, 118], 3, 60, async () => {
    outage = await signalEngineProcess(drill, 'temporal-history', 'SIGKILL', () => listens(drill.enginePorts!.history));
  });
  const { figures, accepted, refused } = await expectBurstKept(drill, posts, ADMISSION_TIMEOUT_MS);
  report(
    '11 postgres engine: history kill -9 during a burst of POSTs',
    startedAt,
    figures,
    `${posts.length} POSTs: ${accepted} × 202, ${refused} × 503 (each 503 retried with its Idempotency-Key: 202); ` +
      `history gone ${((outage?.goneMs ?? NaN) / 1000).toFixed(1)} s`,
  );
}, 300_000);
