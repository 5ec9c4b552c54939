import { sleep } from '@lockkeys/testing';
import { burstOfPosts, drillStack, expectBurstKept, report } from './support';

/** The gateway's admission deadline in this drill (`ADMISSION_TIMEOUT_MS`): a POST no worker admits is 503 by then. */
const ADMISSION_TIMEOUT_MS = 10_000;

/**
 * Drill 10: a burst of POSTs while the only worker is killed (SIGKILL) and started again: admissions wait for the
 * locks' workflows, whose tasks the dead worker held, and are then answered either way.
 */
const drill = drillStack('worker-kill-burst', { ADMISSION_TIMEOUT_MS: String(ADMISSION_TIMEOUT_MS) });

test('worker kill -9 during a burst of POSTs: every 202 gets its keys once, no 503 is followed by a run', async () => {
  const startedAt = Date.now();
  let killedForMs = 0;
  const posts = await burstOfPosts(drill, 'wburst', [101, 102, 103, 104, 105, 106, 107, 108], 3, 60, async () => {
    const worker = drill.services.worker!;
    const killedAt = Date.now();
    await worker.stop('SIGKILL');
    await sleep(1_000);
    await drill.start('worker');
    killedForMs = Date.now() - killedAt;
  });
  const { figures, accepted, refused } = await expectBurstKept(drill, posts, ADMISSION_TIMEOUT_MS);
  report(
    '10 worker kill -9 during a burst of POSTs',
    startedAt,
    figures,
    `${posts.length} POSTs: ${accepted} × 202, ${refused} × 503 (each 503 retried with its Idempotency-Key: 202); ` +
      `worker gone ${(killedForMs / 1000).toFixed(1)} s`,
  );
}, 240_000);
