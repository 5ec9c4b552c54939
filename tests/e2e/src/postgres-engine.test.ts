import {
  DEFAULT_TASK_QUEUE,
  DEV_ORG_ID,
  type JournalEntry,
  type KeySpec,
  type RunStatusBody,
} from '@lockkeys/contracts';
import {
  eventually,
  expectStatus,
  journalGaps,
  keysFor,
  sleep,
  TestStack,
  type GatewayClient,
  type SimulatorClient,
} from '@lockkeys/testing';
import type { Client } from '@temporalio/client';
import { expectExactBound } from './lock-admission';

/**
 * The API and the run lifecycle on the production engine (PostgreSQL, four Temporal server processes, the standalone
 * Web UI, two workers), over HTTP: a representative set of what the dev-server suites check. Visibility on this
 * engine is written by the history service's own queue, a moment after the run changes: listings are awaited.
 */
const GAP_MS = 1_000;
const stack = TestStack.forSuite({ name: 'pg-e2e', engine: 'postgres', env: { KEY_COMMAND_GAP_MS: String(GAP_MS) } });
let api: GatewayClient;
let simulator: SimulatorClient;
let client: Client;

beforeAll(async () => {
  ({ gateway: api, simulator } = stack);
  client = await stack.temporalClient();
});

const closed = (lockId: number, instanceId: string, status: RunStatusBody['status'] = 'complete') =>
  api
    .waitForRun(lockId, instanceId, {
      until: (run) => run.closedAt !== null,
      timeoutMs: 60_000,
      what: `run ${instanceId} to close`,
    })
    .then((run) => {
      expect({ instanceId, status: run.status }).toEqual({ instanceId, status });
      return run;
    });

/** Per key of `keys`, how many commands the lock answered `201`. */
const createdPerKey = (journal: readonly JournalEntry[], keys: readonly KeySpec[]) =>
  Object.fromEntries(
    keys.map((key) => [key.keyUuid, journal.filter((c) => c.keyUuid === key.keyUuid && c.status === 201).length]),
  );
const once = (keys: readonly KeySpec[]) => Object.fromEntries(keys.map((key) => [key.keyUuid, 1]));

test('a run completes: status mid-run, then every key on the lock exactly once, commands at least a gap apart', async () => {
  const keys = keysFor(901, [1, 2, 3, 4], 'pg');
  const { instanceId, lockId } = await api.startRun(901, keys);
  expect(lockId).toBe(901);
  const mid = await api.waitForRun(901, instanceId, {
    until: (run) => run.summary.added >= 1 && run.summary.pending >= 1,
    timeoutMs: 20_000,
    what: 'some keys added and some pending',
  });
  expect(mid).toMatchObject({ instanceId, lockId: 901, status: 'running', closedAt: null });

  const done = await closed(901, instanceId);
  expect(done.summary).toEqual({ total: 4, added: 4, failed: 0, pending: 0, cancelled: 0 });
  expect(done.keys.map((k) => [k.keyUuid, k.status, k.attempts, k.error])).toEqual(
    keys.map((k) => [k.keyUuid, 'added', 1, null]),
  );
  const journal = await simulator.journal(901);
  expect(journal.map((c) => [c.keyUuid, c.status])).toEqual(keys.map((k) => [k.keyUuid, 201]));
  for (const gap of journalGaps(journal)) expect(gap).toBeGreaterThanOrEqual(GAP_MS);
  expect((await simulator.slots(901)).map((s) => s.keyUuid)).toEqual(keys.map((k) => k.keyUuid));
});

test('a key whose slot holds another key fails (409 at the lock); only that key, the run completes', async () => {
  const seeded = await simulator.putKey(902, 2, { keyUuid: 'someone-else', userId: 'other' });
  expect(seeded.status).toBe(201);
  // The lock takes no command within a gap of the seeding one; start after it rather than meet a 429.
  const [seedCommand] = await simulator.journal(902);
  await sleep(seedCommand!.at + GAP_MS - Date.now());

  const keys = keysFor(902, [1, 2, 3], 'pg');
  const { instanceId } = await api.startRun(902, keys);
  const done = await closed(902, instanceId);
  expect(done.keys.map((k) => [k.keyIndexNumber, k.status, k.error?.type ?? null])).toEqual([
    [1, 'added', null],
    [2, 'failed', 'SlotOccupied'],
    [3, 'added', null],
  ]);
  expect(done.summary).toMatchObject({ total: 3, added: 2, failed: 1, pending: 0 });
  const journal = await simulator.journal(902);
  expect(journal.map((c) => [c.keyUuid, c.status])).toEqual([
    ['someone-else', 201],
    [keys[0]!.keyUuid, 201],
    [keys[1]!.keyUuid, 409],
    [keys[2]!.keyUuid, 201],
  ]);
  expect((await simulator.slots(902)).map((s) => s.keyUuid)).toEqual([
    keys[0]!.keyUuid,
    'someone-else',
    keys[2]!.keyUuid,
  ]);
});

test('Idempotency-Key: the same request again, at once and after the run, starts nothing new', async () => {
  const keys = keysFor(903, [1, 2], 'pg');
  const idempotency = { 'idempotency-key': 'pg-order-903' };
  const [a, b] = await Promise.all([api.bulkAddKeys(903, keys, idempotency), api.bulkAddKeys(903, keys, idempotency)]);
  const first = expectStatus(a, 202);
  expect(expectStatus(b, 202).instanceId).toBe(first.instanceId);
  expect([a.headers['idempotent-replayed'], b.headers['idempotent-replayed']].sort()).toEqual(['true', undefined]);
  expect((await api.bulkAddKeys(903, keysFor(903, [3], 'pg'), idempotency)).status).toBe(409);

  await closed(903, first.instanceId);
  const later = await api.bulkAddKeys(903, keys, idempotency);
  expect({ status: later.status, replayed: later.headers['idempotent-replayed'] }).toEqual({
    status: 202,
    replayed: 'true',
  });
  expect(expectStatus(later, 202).instanceId).toBe(first.instanceId);

  // Once visibility shows the run closed, it shows every run of the lock: one.
  const listed = await eventually(
    async () => {
      const page = expectStatus(await api.list(903), 200);
      return page.runs.some((run) => run.status === 'complete') ? page.runs : undefined;
    },
    20_000,
    'the run listed as complete',
  );
  expect(listed.map((run) => run.instanceId)).toEqual([first.instanceId]);
  expect(createdPerKey(await simulator.journal(903), keys)).toEqual(once(keys));
  expect((await simulator.journal(903)).length).toBe(2);
});

test('cancel mid-run: 202, the keys not sent are cancelled, nothing more reaches the lock; again → 409', async () => {
  const keys = keysFor(904, [1, 2, 3, 4, 5], 'pg');
  const { instanceId } = await api.startRun(904, keys);
  await api.waitForRun(904, instanceId, { until: (run) => run.summary.added >= 1, timeoutMs: 20_000 });
  const cancel = await api.cancel(904, instanceId);
  expect(cancel.status).toBe(202);
  expect(cancel.body).toMatchObject({ instanceId, lockId: 904 });

  const after = await closed(904, instanceId, 'cancelled');
  expect(after.summary.pending).toBe(0);
  expect(after.summary.cancelled).toBeGreaterThanOrEqual(1);
  expect(after.summary.added + after.summary.cancelled).toBe(5);
  const journal = await simulator.journal(904);
  // Every command sent finished and counts as added; no key half-written, none sent after the cancel took effect.
  expect(journal.map((c) => c.status)).toEqual(Array(after.summary.added).fill(201));
  expect(journal.map((c) => c.keyUuid)).toEqual(after.keys.filter((k) => k.status === 'added').map((k) => k.keyUuid));

  const again = await api.cancel(904, instanceId);
  expect(again.status).toBe(409);
  expect(again.body).toMatchObject({ error: 'Conflict', code: 409 });
});

test('pause mid-run: nothing reaches the lock while paused, another run on the lock goes ahead; resume → complete', async () => {
  const paused = keysFor(905, [1, 2, 3, 4], 'pg');
  const run = await api.startRun(905, paused);
  await api.waitForRun(905, run.instanceId, { until: (r) => r.summary.added >= 1, timeoutMs: 20_000 });
  expect((await api.pause(905, run.instanceId)).status).toBe(202);
  const atPause = await api.waitForRun(905, run.instanceId, {
    until: (r) => r.status === 'paused',
    timeoutMs: 20_000,
    what: 'the run to report paused',
  });
  const pausedAt = Date.now();
  expect(atPause.summary.pending).toBeGreaterThanOrEqual(1);
  // Pausing again changes nothing.
  expect((await api.pause(905, run.instanceId)).status).toBe(202);

  const other = keysFor(905, [11, 12], 'pg');
  const next = await api.startRun(905, other);
  await closed(905, next.instanceId);
  const listedPaused = await eventually(
    async () => {
      const page = expectStatus(await api.list(905, { status: 'paused' }), 200);
      return page.runs.length > 0 ? page.runs : undefined;
    },
    20_000,
    'the paused run listed',
  );
  expect(listedPaused.map((r) => r.instanceId)).toEqual([run.instanceId]);
  const whilePaused = await simulator.journal(905, pausedAt);
  expect(whilePaused.map((c) => c.keyUuid)).toEqual(other.map((k) => k.keyUuid));
  expect((await api.run(905, run.instanceId)).summary).toEqual(atPause.summary);

  expect((await api.resume(905, run.instanceId)).status).toBe(202);
  const done = await closed(905, run.instanceId);
  expect(done.summary).toMatchObject({ total: 4, added: 4, failed: 0 });
  const journal = await simulator.journal(905);
  expect(createdPerKey(journal, [...paused, ...other])).toEqual(once([...paused, ...other]));
  expect(journal.filter((c) => c.status !== 201)).toEqual([]);
  for (const gap of journalGaps(journal)) expect(gap).toBeGreaterThanOrEqual(GAP_MS);
  expect((await api.resume(905, run.instanceId)).status).toBe(409);
});

test('listing: the runs of a lock by LockId and OrgId, newest first, through the gateway and in Temporal', async () => {
  const older = await api.startRun(906, keysFor(906, [1], 'pg'));
  await closed(906, older.instanceId);
  const newer = await api.startRun(906, keysFor(906, [2], 'pg'));
  await closed(906, newer.instanceId);
  const other = await api.startRun(907, keysFor(907, [1], 'pg'));

  const runs = await eventually(
    async () => {
      const page = expectStatus(await api.list(906, { status: 'complete' }), 200);
      return page.runs.length === 2 ? page : undefined;
    },
    20_000,
    'both runs of lock 906 listed as complete',
  );
  expect(runs.runs.map((r) => [r.instanceId, r.lockId, r.status, r.summary.added])).toEqual([
    [newer.instanceId, 906, 'complete', 1],
    [older.instanceId, 906, 'complete', 1],
  ]);
  expect(runs.nextCursor).toBeNull();
  const paged = expectStatus(await api.list(906, { status: 'complete', limit: 1 }), 200);
  expect(paged.runs.map((r) => r.instanceId)).toEqual([newer.instanceId]);
  const rest = expectStatus(await api.list(906, { status: 'complete', cursor: paged.nextCursor! }), 200);
  expect(rest.runs.map((r) => r.instanceId)).toEqual([older.instanceId]);

  // The same search attributes an operator types in the Web UI.
  const ids: string[] = [];
  for await (const execution of client.workflow.list({ query: `LockId = 906 AND OrgId = "${DEV_ORG_ID}"` })) {
    ids.push(execution.workflowId);
  }
  expect(ids.sort()).toEqual([older.instanceId, newer.instanceId].sort());
  expect((await client.workflow.count('LockId = 906 AND OrgId = "someone-else"')).count).toBe(0);
  await closed(907, other.instanceId);
});

test('the standalone Web UI answers at its URL and reads this engine (the run of lock 901 through its API)', async () => {
  const page = await fetch(stack.webUiUrl);
  expect(page.status).toBe(200);
  expect(await page.text()).toMatch(/<html/i);

  const query = encodeURIComponent('LockId = 901');
  const listing = await eventually(
    async () => {
      const answer = await fetch(`${stack.webUiUrl}/api/v1/namespaces/default/workflows?query=${query}`);
      const body = (await answer.json()) as { executions?: { type?: { name?: string } }[] };
      return answer.status === 200 && (body.executions?.length ?? 0) > 0 ? body : undefined;
    },
    20_000,
    'the Web UI to list the run of lock 901',
  );
  // The run, and its lock's own workflow (which carries `LockId` too: the lock's queue beside its runs).
  expect(listing.executions!.map((e) => e.type?.name).sort()).toEqual(['bulkAddKeys', 'lockQueue']);
});

test('both workers are ready and poll the task queue', async () => {
  const workers = [stack.services.worker!, stack.services['worker-2']!];
  for (const port of [stack.ports.workerHealth, stack.ports.worker2Health]) {
    expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
  }
  const pollers = await eventually(
    async () => {
      // No task queue type given: the workflow task queue, which every worker polls.
      const { pollers } = await client.workflowService.describeTaskQueue({
        namespace: 'default',
        taskQueue: { name: DEFAULT_TASK_QUEUE },
      });
      const identities = (pollers ?? []).map((p) => p.identity ?? '');
      return workers.every((w) => identities.some((id) => id.startsWith(`${w.pid}@`))) ? identities : undefined;
    },
    20_000,
    'a poller of each worker',
  );
  expect(pollers.length).toBeGreaterThanOrEqual(2);
});

test("a burst of 200 POSTs at once, each on a lock of its own: all 202 (each admitted by its lock's workflow), all complete", async () => {
  const locks = Array.from({ length: 200 }, (_, i) => 9500 + i);
  const answers = await Promise.all(locks.map((lockId) => api.bulkAddKeys(lockId, keysFor(lockId, [1], 'burst'))));
  expect(answers.filter((a) => a.status !== 202).map((a) => [a.status, a.body])).toEqual([]);
  await eventually(
    async () => {
      const { count } = await client.workflow.count(
        `WorkflowType = 'bulkAddKeys' AND LockId >= 9500 AND LockId < 9700 AND ExecutionStatus = 'Completed'`,
      );
      return count === 200 ? count : undefined;
    },
    90_000,
    'the 200 runs of the burst to complete',
  );
}, 120_000);

test('the bound is exact on this engine too: 50 POSTs at once on an empty lock, exactly 20 × 202 and 30 × 429', async () => {
  await expectExactBound(stack, 9800);
}, 120_000);

test('runs on one lock take it in the order of their 202s: 3 locks × 8 one-key runs POSTed one after another', async () => {
  const lockIds = [9810, 9811, 9812];
  const accepted = await Promise.all(
    lockIds.map(async (lockId) => {
      const keys: string[] = [];
      for (let n = 0; n < 8; n++) {
        const key = { keyUuid: `pg-order-${lockId}-${n}`, keyIndexNumber: n, userId: 'u' };
        await api.startRun(lockId, [key]);
        keys.push(key.keyUuid);
      }
      return keys;
    }),
  );
  const journals = await Promise.all(lockIds.map((lockId) => simulator.waitForCommands([lockId], 8, 90_000)));
  expect(journals.map((journal) => journal.map((c) => c.keyUuid))).toEqual(accepted);
}, 120_000);
