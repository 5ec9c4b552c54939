import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEV_API_KEY, DEV_JWT_SECRET, type RunList, type RunListItem } from '@lockkeys/contracts';
import { mintJwt } from '@lockkeys/dev-stack';
import {
  eventually,
  expectStatus,
  GatewayClient,
  journalGaps,
  keyIndexes,
  keysFor,
  scratchDir,
  TestStack,
  type GatewayResponse,
} from '@lockkeys/testing';
import { createHash } from 'node:crypto';
import { BOUND, expectExactBound, runsOfLock } from './lock-admission';

/** Pause and resume, listing and the per-lock bound, as a client sees them over HTTP. */
const ACME_KEY = 'lk_e2e_acme_00000000000000000000000001';
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const keysFile = join(scratchDir('run-control-keys'), 'api-keys.json');
writeFileSync(
  keysFile,
  JSON.stringify({
    keys: [
      { id: 'dev', sha256: sha256(DEV_API_KEY), orgId: 'dev', locks: '*' },
      { id: 'acme-1', sha256: sha256(ACME_KEY), orgId: 'acme', locks: '*' },
    ],
  }),
);
const stack = TestStack.forSuite({ name: 'run-control', env: { API_KEYS_FILE: keysFile } });
const acme = () =>
  new GatewayClient(stack.gatewayUrl, {
    jwt: mintJwt(DEV_JWT_SECRET, { sub: 'acme-user', org: 'acme' }),
    apiKey: ACME_KEY,
  });

const statusOf = (response: GatewayResponse<{ status: string }>) => expectStatus(response, 202).status;

describe('pause and resume', () => {
  test('pause mid-run: nothing reaches the lock while paused, another run goes ahead, resume completes every key once', async () => {
    const paused = await stack.gateway.startRun(951, keysFor(951, [1, 2, 3, 4], 'pause'));
    await eventually(
      async () => ((await stack.simulator.journal(951)).length >= 1 ? true : undefined),
      20_000,
      'a first command',
    );
    expect(['running', 'paused']).toContain(statusOf(await stack.gateway.pause(951, paused.instanceId)));
    // Pausing a paused run changes nothing and still answers 202.
    await stack.gateway.waitForRun(951, paused.instanceId, { until: (run) => run.status === 'paused', what: 'paused' });
    expect(statusOf(await stack.gateway.pause(951, paused.instanceId))).toBe('paused');
    const sentBeforePause = (await stack.simulator.journal(951)).length;

    const other = await stack.gateway.startRun(951, keysFor(951, [10, 11], 'meanwhile'));
    await stack.gateway.waitForRun(951, other.instanceId, { until: (run) => run.status === 'complete' });
    const whilePaused = (await stack.simulator.journal(951)).filter((c) => c.keyUuid.startsWith('pause-'));
    expect(whilePaused).toHaveLength(sentBeforePause);
    expect((await stack.gateway.run(951, paused.instanceId)).status).toBe('paused');

    expect(['paused', 'queued', 'running']).toContain(statusOf(await stack.gateway.resume(951, paused.instanceId)));
    const done = await stack.gateway.waitForRun(951, paused.instanceId, { until: (run) => run.status === 'complete' });
    expect(done.summary).toEqual({ total: 4, added: 4, failed: 0, pending: 0, cancelled: 0 });
    const journal = await stack.simulator.journal(951);
    expect(journal.filter((c) => c.keyUuid.startsWith('pause-')).map((c) => [c.keyIndexNumber, c.status])).toEqual([
      [1, 201],
      [2, 201],
      [3, 201],
      [4, 201],
    ]);
    for (const gap of journalGaps(journal)) expect(gap).toBeGreaterThanOrEqual(1_000);
    // Pause or resume of a closed run is 409.
    expect((await stack.gateway.pause(951, paused.instanceId)).status).toBe(409);
    expect((await stack.gateway.resume(951, paused.instanceId)).status).toBe(409);
  }, 90_000);

  test('cancel works on a paused run; resuming a running run changes nothing', async () => {
    const run = await stack.gateway.startRun(952, keysFor(952, [1, 2, 3], 'cancel-paused'));
    await eventually(
      async () => ((await stack.simulator.journal(952)).length >= 1 ? true : undefined),
      20_000,
      'a command',
    );
    expect(statusOf(await stack.gateway.resume(952, run.instanceId))).not.toBe('paused');
    await stack.gateway.pause(952, run.instanceId);
    await stack.gateway.waitForRun(952, run.instanceId, { until: (r) => r.status === 'paused', what: 'paused' });
    expect((await stack.gateway.cancel(952, run.instanceId)).status).toBe(202);
    const closed = await stack.gateway.waitForRun(952, run.instanceId);
    expect(closed.status).toBe('cancelled');
    expect(closed.summary.pending).toBe(0);
    expect(closed.summary.added + closed.summary.cancelled).toBe(3);
  }, 60_000);
});

describe('listing', () => {
  test('pages through more runs than the limit, newest first; the filter; another organization never shows', async () => {
    const mine = [];
    for (const slot of [1, 2, 3, 4, 5]) mine.push(await stack.gateway.startRun(960, keysFor(960, [slot], 'list')));
    const theirs = await acme().startRun(960, keysFor(960, [9], 'acme'));
    for (const run of mine) {
      await stack.gateway.waitForRun(960, run.instanceId, { until: (r) => r.status === 'complete', timeoutMs: 60_000 });
    }
    await acme().waitForRun(960, theirs.instanceId, { until: (run) => run.status === 'complete', timeoutMs: 60_000 });

    const seen: RunListItem[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: RunList = expectStatus(await stack.gateway.list(960, { limit: 2, ...(cursor && { cursor }) }), 200);
      expect(page.runs.length).toBeLessThanOrEqual(2);
      seen.push(...page.runs);
      cursor = page.nextCursor;
      pages++;
    } while (cursor !== null && pages < 10);
    expect(pages).toBe(3);
    // Newest first as Temporal's visibility orders closed runs: by closing time. Runs on one lock take it in the
    // order the gateway accepted them, so one-key runs close in that order too.
    expect(seen.map((r) => r.instanceId)).toEqual(mine.map((r) => r.instanceId).reverse());
    const closedAt = seen.map((r) => Date.parse(r.closedAt!));
    expect(closedAt).toEqual([...closedAt].sort((a, b) => b - a));
    expect(seen.every((r) => r.status === 'complete' && r.summary.added === 1 && r.closedAt !== null)).toBe(true);

    const complete = expectStatus(await stack.gateway.list(960, { status: 'complete', limit: 100 }), 200);
    expect(complete.runs).toHaveLength(5);
    expect(complete.nextCursor).toBeNull();
    expect(expectStatus(await stack.gateway.list(960, { status: 'cancelled' }), 200).runs).toEqual([]);
    expect(expectStatus(await acme().list(960), 200).runs.map((r) => r.instanceId)).toEqual([theirs.instanceId]);

    // A cursor of one organization is refused for the other: 400, nothing of theirs leaks.
    const myCursor = expectStatus(await stack.gateway.list(960, { limit: 2 }), 200).nextCursor!;
    const foreign = await acme().list(960, { cursor: myCursor, limit: 2 });
    expect(foreign.status).toBe(400);
    expect(JSON.stringify(foreign.body)).not.toContain(mine[0]!.instanceId);
    const truncated = await stack.gateway.list(960, { cursor: myCursor.slice(0, -3), limit: 2 });
    expect(truncated.status).toBe(400);
  }, 120_000);
});

describe('the per-lock bound', () => {
  test('50 POSTs at once on an empty lock: exactly 20 × 202 and 30 × 429 with Retry-After; 20 runs exist', async () => {
    await expectExactBound(stack, 970);
    // Another lock is not affected.
    expect((await stack.gateway.bulkAddKeys(971, keysFor(971, [1], 'bound-other'))).status).toBe(202);
  }, 90_000);

  test('a queued run that is cancelled leaves the queue without touching the lock, and frees its slot', async () => {
    const lockId = 972;
    const client = await stack.temporalClient();
    const runs = [];
    for (let i = 0; i < BOUND; i++) {
      runs.push(await stack.gateway.startRun(lockId, keysFor(lockId, keyIndexes(30, 100 * i), `slot-${i}`)));
    }
    expect((await stack.gateway.bulkAddKeys(lockId, keysFor(lockId, [5000], 'slot-full'))).status).toBe(429);
    const queued = runs[BOUND - 1]!;
    // The answer comes as the run starts closing: it may still say where it stood.
    expect(['queued', 'running', 'cancelled']).toContain(
      statusOf(await stack.gateway.cancel(lockId, queued.instanceId)),
    );
    const closed = await stack.gateway.waitForRun(lockId, queued.instanceId);
    expect(closed.status).toBe('cancelled');
    expect(closed.summary).toMatchObject({ added: 0, cancelled: 30 });
    const again = await eventually(
      async () => {
        const answer = await stack.gateway.bulkAddKeys(lockId, keysFor(lockId, [5000], 'slot-free'));
        return answer.status === 202 ? answer : undefined;
      },
      10_000,
      'the freed slot to take a new run',
    );
    expect(again.status).toBe(202);
    expect(await runsOfLock(client, lockId, 'Running')).toBe(BOUND);
    const journal = await stack.simulator.journal(lockId);
    expect(journal.filter((c) => c.keyUuid.startsWith(`slot-${BOUND - 1}-`))).toEqual([]);
    for (const run of runs) await stack.gateway.cancel(lockId, run.instanceId);
  }, 90_000);
});
