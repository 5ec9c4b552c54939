import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { createActivities, type LockBackend, type PutKeyOutcome } from '@lockkeys/activities';
import {
  BULK_ADD_KEYS_WORKFLOW,
  instanceIdSchema,
  LOCK_ID_SEARCH_ATTRIBUTE,
  MEMO_SUMMARY,
  taskQueues,
  type BulkAddKeysInput,
  type BulkAddKeysState,
  type BulkAddKeysWorkflow,
  type KeySpec,
  type RunList,
  type RunSettings,
  type RunStatus,
} from '@lockkeys/contracts';
import { eventually, keyIndexes, keysFor, startTemporalDevServer } from '@lockkeys/testing';
import { createLockkeysWorkers } from '@lockkeys/workflows/worker';
import { WorkflowNotFoundError } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { loadConfig } from './config';
import {
  IdempotencyConflictError,
  InvalidCursorError,
  RunAlreadyClosedError,
  TooManyActiveRunsError,
  type ListRunsRequest,
  type RunRef,
  type RunService,
  type StartRunRequest,
} from './runs';
import {
  createTemporalRunService,
  idempotentInstanceId,
  newInstanceId,
  requestHash,
  TemporalUnavailableError,
} from './temporal';

/** A local port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (typeof address !== 'object' || address === null) throw new Error('no port');
  return address.port;
}

test('instanceIds are URL-safe workflow IDs that name the lock', () => {
  const id = newInstanceId(123);
  expect(id).toMatch(/^lock-123-[0-9a-f-]{36}$/);
  expect(instanceIdSchema.safeParse(id).success).toBe(true);
  expect(encodeURIComponent(id)).toBe(id);
  expect(newInstanceId(123)).not.toBe(id);
});

test('with Temporal down the starter is created, reports not ready, and start fails as unavailable', async () => {
  const address = `127.0.0.1:${await closedPort()}`;
  const starter = createTemporalRunService(
    {
      ...loadConfig({ NODE_ENV: 'test' }),
      temporal: { ...loadConfig({ NODE_ENV: 'test' }).temporal, connectionOptions: { address } },
    },
    { startDeadlineMs: 2_000, readyDeadlineMs: 1_000, grpcMaxAttempts: 2 },
  );
  try {
    const startedAt = Date.now();
    await expect(starter.ready()).resolves.toBe(false);
    await expect(
      starter.start({
        input: {
          lockId: 1,
          orgId: 'acme',
          requestedBy: 'alice',
          keys: [{ keyUuid: 'a', keyIndexNumber: 0, userId: 'u' }],
        },
      }),
    ).rejects.toBeInstanceOf(TemporalUnavailableError);
    expect(Date.now() - startedAt).toBeLessThan(10_000);
  } finally {
    await starter.close();
  }
});

test('idempotent instanceIds depend on organization, lock and key, and are URL-safe', () => {
  const id = idempotentInstanceId('acme', 123, 'order-42');
  expect(id).toMatch(/^lock-123-idem-[A-Za-z0-9_-]{32}$/);
  expect(instanceIdSchema.safeParse(id).success).toBe(true);
  expect(idempotentInstanceId('acme', 123, 'order-42')).toBe(id);
  expect(idempotentInstanceId('other', 123, 'order-42')).not.toBe(id);
  expect(idempotentInstanceId('acme', 124, 'order-42')).not.toBe(id.replace('123', '124'));
  expect(idempotentInstanceId('acme', 123, 'order-43')).not.toBe(id);
});

test('the request hash changes with the lock, the keys, and their order', () => {
  const keys = [
    { keyUuid: 'a', keyIndexNumber: 1, userId: 'u' },
    { keyUuid: 'b', keyIndexNumber: 2, userId: 'u' },
  ];
  const base = requestHash({ lockId: 1, keys });
  expect(requestHash({ lockId: 1, keys: keys.map((k) => ({ ...k })) })).toBe(base);
  expect(requestHash({ lockId: 2, keys })).not.toBe(base);
  expect(requestHash({ lockId: 1, keys: [...keys].reverse() })).not.toBe(base);
  expect(requestHash({ lockId: 1, keys: [{ ...keys[0]!, userId: 'v' }, keys[1]!] })).not.toBe(base);
});

// ---- against a real Temporal dev server, with lockkeys' real workers ---------------------------------------

/** A lock that answers every command at once, or (held) only when released; it records every command it got. */
class RecordingLockBackend implements LockBackend {
  readonly commands: { at: number; lockId: number; key: KeySpec }[] = [];
  private readonly held = new Map<number, { released: Promise<void>; release: () => void }>();

  async putKey(lockId: number, key: KeySpec): Promise<PutKeyOutcome> {
    this.commands.push({ at: Date.now(), lockId, key });
    await this.held.get(lockId)?.released;
    return 'created';
  }

  /** Commands to `lockId` from now on wait until {@link release}. */
  hold(lockId: number): void {
    let release = () => {};
    const released = new Promise<void>((resolve) => (release = resolve));
    this.held.set(lockId, { released, release });
  }

  release(lockId: number): void {
    this.held.get(lockId)?.release();
    this.held.delete(lockId);
  }

  releaseAll(): void {
    for (const lockId of [...this.held.keys()]) this.release(lockId);
  }

  /** The keyUuids `lockId` received, in order. */
  received(lockId: number): string[] {
    return this.commands.filter((command) => command.lockId === lockId).map((command) => command.key.keyUuid);
  }
}

const runSettings = (over: Partial<RunSettings> = {}): RunSettings => ({
  commandGapMs: 0,
  addKey: {
    activity: 'local',
    initialIntervalMs: 200,
    backoffCoefficient: 2,
    maximumIntervalMs: 1_000,
    maximumAttempts: 3,
    // Held commands wait for the test to release them: well within these.
    startToCloseTimeoutMs: 60_000,
    scheduleToCloseTimeoutMs: 120_000,
  },
  maxKeysPerRun: 1_000,
  lockHolderCheckIntervalMs: 5_000,
  lockIdleMs: 1_000,
  lockStartMarginMs: 60_000,
  webhook: { retryWindowMs: 60_000, attemptTimeoutMs: 2_000, probeIntervalMs: 30_000 },
  ...over,
});

/** A RunService on a task queue of its own, and (unless `workers: false`) lockkeys' workers serving that queue. */
interface Stack {
  service: RunService;
  backend: RecordingLockBackend;
  /** Stops the workers and waits until they have (a no-op without workers). */
  stopWorkers(): Promise<void>;
  close(): Promise<void>;
}

Runtime.install({ logger: new DefaultLogger('WARN') });
let env: TestWorkflowEnvironment | undefined;
const devServer = () => {
  if (env === undefined) throw new Error('the dev server starts in beforeAll');
  return env;
};

async function startStack(
  options: { settings?: RunSettings; workers?: boolean; env?: Record<string, string>; queryDeadlineMs?: number } = {},
): Promise<Stack> {
  const temporal = devServer();
  const taskQueue = `gateway-test-${randomUUID()}`;
  const config = loadConfig({
    NODE_ENV: 'test',
    TEMPORAL_ADDRESS: temporal.address,
    TEMPORAL_TASK_QUEUE: taskQueue,
    ...options.env,
  });
  const service = createTemporalRunService(config, { queryDeadlineMs: options.queryDeadlineMs ?? 1_000 });
  const backend = new RecordingLockBackend();
  let stopWorkers = async () => {};
  if (options.workers !== false) {
    const settings = options.settings ?? runSettings();
    const workers = await createLockkeysWorkers({
      connection: temporal.nativeConnection,
      namespace: temporal.namespace ?? 'default',
      taskQueue,
      activities: createActivities({
        lockBackend: backend,
        runSettings: settings,
        temporal: { client: temporal.client, taskQueues: taskQueues(taskQueue) },
        webhooks: { endpoints: new Map(), attemptTimeoutMs: settings.webhook.attemptTimeoutMs },
      }),
      shutdownGraceTimeMs: 5_000,
    });
    const running = workers.run();
    let stopped: Promise<void> | undefined;
    stopWorkers = () => {
      backend.releaseAll();
      stopped ??= (workers.shutdown(), running);
      return stopped;
    };
  }
  return {
    service,
    backend,
    stopWorkers: () => stopWorkers(),
    close: async () => {
      await stopWorkers();
      await service.close();
    },
  };
}

const request = (lockId: number, keys: KeySpec[], orgId = 'acme'): StartRunRequest => ({
  input: { lockId, orgId, requestedBy: 'tester', keys },
});
let tags = 0;
/** `n` keys for `lockId` whose uuids no other test uses. */
const keysOf = (lockId: number, n: number) => keysFor(lockId, keyIndexes(n, 1), `t${++tags}`);
const refOf = (lockId: number, instanceId: string, orgId = 'acme'): RunRef => ({ instanceId, lockId, orgId });
const handleOf = (instanceId: string) => devServer().client.workflow.getHandle<BulkAddKeysWorkflow>(instanceId);
const countOnLock = async (lockId: number, status?: 'Running') =>
  (
    await devServer().client.workflow.count(
      `WorkflowType = '${BULK_ADD_KEYS_WORKFLOW}' AND ${LOCK_ID_SEARCH_ATTRIBUTE} = ${lockId}${status ? ` AND ExecutionStatus = '${status}'` : ''}`,
    )
  ).count;
/** Waits until the run says `status` of itself (through the service, so through its query or history). */
const untilStatus = (service: RunService, ref: RunRef, ...statuses: RunStatus[]) =>
  eventually(
    async () => {
      const body = await service.status(ref);
      return statuses.includes(body.status) ? body : undefined;
    },
    20_000,
    `${ref.instanceId} to be ${statuses.join(' or ')}`,
    100,
  );
const settled = (instanceId: string) =>
  handleOf(instanceId)
    .result()
    .catch(() => undefined);

describe('with a Temporal dev server and real workers', () => {
  beforeAll(async () => {
    env = await startTemporalDevServer();
  });
  afterAll(async () => {
    await env?.teardown();
  });

  describe('listing', () => {
    const LOCK = 501;
    const OTHER_LOCK = 502;
    let stack: Stack;
    /** acme's runs on LOCK by what they were made to be. */
    const acme = { complete: [] as string[], cancelled: '', running: '', queued: [] as string[], paused: '' };
    const globex: string[] = [];
    const list = (over: Partial<ListRunsRequest> = {}): Promise<RunList> =>
      stack.service.list({ lockId: LOCK, orgId: 'acme', limit: 100, ...over });
    /** Every page of a listing, following nextCursor. */
    async function allPages(over: Partial<ListRunsRequest>): Promise<RunList[]> {
      const pages = [await list(over)];
      for (let page = pages[0]!; page.nextCursor !== null; pages.push(page)) {
        page = await list({ ...over, cursor: page.nextCursor });
        if (pages.length > 50) throw new Error('too many pages');
      }
      return pages;
    }
    const idsOf = (pages: RunList[]) => pages.flatMap((page) => page.runs.map((run) => run.instanceId));
    const allAcme = () => [...acme.complete, acme.cancelled, acme.running, ...acme.queued, acme.paused];

    beforeAll(async () => {
      // The run holding the lock answers no query while its command waits at the lock: read from history sooner.
      stack = await startStack({ queryDeadlineMs: 500 });
      const start = async (lockId: number, keys: number, orgId = 'acme') =>
        (await stack.service.start(request(lockId, keysOf(lockId, keys), orgId))).instanceId;
      // Closed runs, one after another so that their close times differ.
      for (let i = 0; i < 3; i++) {
        acme.complete.push(await start(LOCK, 1));
        await handleOf(acme.complete[i]!).result();
      }
      globex.push(await start(LOCK, 1, 'globex'));
      await handleOf(globex[0]!).result();
      await handleOf(await start(OTHER_LOCK, 1)).result();

      // Open runs: one holds the lock (its command waits at the lock), the others wait for it.
      stack.backend.hold(LOCK);
      const before = stack.backend.received(LOCK).length;
      acme.running = await start(LOCK, 2);
      await eventually(
        async () => stack.backend.received(LOCK).length > before || undefined,
        20_000,
        'the held command',
      );
      acme.cancelled = await start(LOCK, 2);
      await untilStatus(stack.service, refOf(LOCK, acme.cancelled), 'queued');
      await stack.service.cancel(refOf(LOCK, acme.cancelled));
      await settled(acme.cancelled);
      acme.queued.push(await start(LOCK, 1), await start(LOCK, 1));
      acme.paused = await start(LOCK, 1);
      globex.push(await start(LOCK, 1, 'globex'));
      await untilStatus(stack.service, refOf(LOCK, acme.paused), 'queued');
      await stack.service.pause(refOf(LOCK, acme.paused));
      await untilStatus(stack.service, refOf(LOCK, acme.paused), 'paused');
      // Visibility is eventually consistent: wait until it shows all of them.
      await eventually(
        async () => {
          const listed = new Set((await list()).runs.map((run) => run.instanceId));
          return allAcme().every((id) => listed.has(id)) || undefined;
        },
        20_000,
        "acme's runs in visibility",
      );
    });
    afterAll(() => stack?.close());

    test('pages of `limit` runs hold every run exactly once, open runs first, then closed by close time', async () => {
      const pages = await allPages({ limit: 3 });
      expect(pages.map((page) => page.runs.length)).toEqual([3, 3, 2]);
      const ids = idsOf(pages);
      expect(new Set(ids).size).toBe(ids.length);
      expect([...ids].sort()).toEqual([...allAcme()].sort());

      const described = await Promise.all(ids.map((id) => handleOf(id).describe()));
      const open = described.map((d) => d.closeTime === undefined);
      expect(open).toEqual([...open].sort((a, b) => Number(b) - Number(a)));
      const at = (time: Date | undefined) => time?.getTime() ?? 0;
      const openRuns = described.filter((d) => d.closeTime === undefined);
      const closedRuns = described.filter((d) => d.closeTime !== undefined);
      expect(openRuns).toHaveLength(4);
      // Newest first: open runs by start, closed runs by close.
      for (let i = 1; i < openRuns.length; i++) {
        expect(at(openRuns[i - 1]!.startTime)).toBeGreaterThanOrEqual(at(openRuns[i]!.startTime));
      }
      for (let i = 1; i < closedRuns.length; i++) {
        expect(at(closedRuns[i - 1]!.closeTime)).toBeGreaterThanOrEqual(at(closedRuns[i]!.closeTime));
      }
      expect(ids[0]).toBe(acme.paused);
      expect(ids[ids.length - 1]).toBe(acme.complete[0]);
      expect((await list({ limit: 8 })).nextCursor).toBeNull();
    });

    test.each([
      ['complete', () => acme.complete],
      ['cancelled', () => [acme.cancelled]],
      ['running', () => [acme.running]],
      ['queued', () => acme.queued],
      ['paused', () => [acme.paused]],
    ] as const)('status=%s lists exactly the runs with that status, one per page', async (status, expected) => {
      const pages = await allPages({ status, limit: 1 });
      expect([...idsOf(pages)].sort()).toEqual([...expected()].sort());
      expect(pages.flatMap((page) => page.runs.map((run) => run.status))).toEqual(expected().map(() => status));
      expect(pages[pages.length - 1]!.nextCursor).toBeNull();
    });

    test("another organization's runs never appear, whatever the filter or page size", async () => {
      for (const status of [undefined, 'complete', 'queued', 'running', 'paused', 'cancelled'] as const) {
        for (const limit of [1, 100]) {
          const ids = idsOf(await allPages({ limit, ...(status && { status }) }));
          expect(ids.filter((id) => globex.includes(id))).toEqual([]);
        }
      }
      const theirs = idsOf(await allPages({ orgId: 'globex', limit: 1 }));
      expect([...theirs].sort()).toEqual([...globex].sort());
    });

    test('closed runs are listed with the summary from their memo, open runs with their live status', async () => {
      const { runs } = await list();
      for (const item of runs) {
        const ref = refOf(LOCK, item.instanceId);
        const body = await stack.service.status(ref);
        const { keys: _keys, ...expected } = body;
        expect(item).toEqual(expected);
        if (item.closedAt !== null) {
          const { memo } = await handleOf(item.instanceId).describe();
          expect([item.instanceId, item.summary]).toEqual([item.instanceId, memo?.[MEMO_SUMMARY]]);
        }
      }
      const byId = new Map(runs.map((run) => [run.instanceId, run]));
      expect(byId.get(acme.running)).toMatchObject({ status: 'running', closedAt: null });
      expect(byId.get(acme.paused)).toMatchObject({ status: 'paused', closedAt: null });
      expect(byId.get(acme.queued[0]!)).toMatchObject({ status: 'queued', closedAt: null });
      expect(byId.get(acme.complete[0]!)).toMatchObject({
        status: 'complete',
        closedAt: expect.any(String),
        summary: { total: 1, added: 1, failed: 0, pending: 0, cancelled: 0 },
      });
      expect(byId.get(acme.cancelled)).toMatchObject({
        status: 'cancelled',
        closedAt: expect.any(String),
        summary: { total: 2, added: 0, failed: 0, pending: 0, cancelled: 2 },
      });
    });

    const hostileCursors: [string, () => Promise<string>, Partial<ListRunsRequest>][] = [
      ['truncated', async () => (await list({ limit: 2 })).nextCursor!.slice(0, -1), {}],
      ['cut at its signature', async () => (await list({ limit: 2 })).nextCursor!.split('.')[0]!, {}],
      ['empty of a signature', async () => `${(await list({ limit: 2 })).nextCursor!.split('.')[0]!}.`, {}],
      ['with a segment too many', async () => `${(await list({ limit: 2 })).nextCursor!}.x`, {}],
      [
        "another organization's (used by acme)",
        async () => (await list({ orgId: 'globex', limit: 1 })).nextCursor!,
        {},
      ],
      [
        "acme's (used by another organization)",
        async () => (await list({ limit: 1 })).nextCursor!,
        { orgId: 'globex' },
      ],
      ["another lock's", async () => (await list({ limit: 1 })).nextCursor!, { lockId: OTHER_LOCK }],
      ["another status's (closed filter)", async () => (await list({ limit: 1 })).nextCursor!, { status: 'complete' }],
      [
        "another status's (open filter)",
        async () => (await list({ status: 'queued', limit: 1 })).nextCursor!,
        { status: 'running' },
      ],
      ["a filter's, used unfiltered", async () => (await list({ status: 'complete', limit: 1 })).nextCursor!, {}],
      [
        "one cursor's body with another's signature",
        async () => {
          const mine = (await list({ limit: 1 })).nextCursor!;
          const theirs = (await list({ orgId: 'globex', limit: 1 })).nextCursor!;
          return `${theirs.split('.')[0]!}.${mine.split('.')[1]!}`;
        },
        {},
      ],
      [
        're-signed by nobody: the scope rewritten',
        async () => {
          const [body, signature] = (await list({ orgId: 'globex', limit: 1 })).nextCursor!.split('.');
          const decoded = Buffer.from(body!, 'base64url').toString('utf8').replace('"globex"', '"acme"');
          return `${Buffer.from(decoded).toString('base64url')}.${signature!}`;
        },
        {},
      ],
      ['not a cursor at all', async () => 'lock-501', {}],
    ];
    test.each(hostileCursors)('a cursor %s is InvalidCursorError', async (_name, cursor, over) => {
      const given = await cursor();
      await expect(list({ ...over, limit: 1, cursor: given })).rejects.toBeInstanceOf(InvalidCursorError);
    });
  });

  describe('the per-lock bound (MAX_ACTIVE_RUNS_PER_LOCK=3)', () => {
    const FULL = 601;
    const OTHER = 602;
    let stack: Stack;
    // The lock answers nothing: each lock's first run holds it, the others queue — every run admitted stays open.
    beforeAll(async () => {
      stack = await startStack({ env: { MAX_ACTIVE_RUNS_PER_LOCK: '3' } });
      for (const lockId of [FULL, 603]) stack.backend.hold(lockId);
    });
    afterAll(() => stack?.close());

    test('the 4th start on a full lock starts nothing; a replay still answers; other locks are not affected', async () => {
      const { service } = stack;
      expect(await countOnLock(FULL)).toBe(0);
      const idempotent = { ...request(FULL, keysOf(FULL, 1)), idempotencyKey: 'order-1' };
      const first = await service.start(idempotent);
      expect(first.replayed).toBe(false);
      const open = [
        first.instanceId,
        (await service.start(request(FULL, keysOf(FULL, 1)))).instanceId,
        (await service.start(request(FULL, keysOf(FULL, 1), 'globex'))).instanceId,
      ];
      await eventually(async () => ((await countOnLock(FULL, 'Running')) === 3 ? true : undefined), 10_000, '3 runs');

      // Whoever asks: the bound is the lock's, across organizations.
      for (const attempt of [
        request(FULL, keysOf(FULL, 1)),
        request(FULL, keysOf(FULL, 1), 'globex'),
        { ...request(FULL, keysOf(FULL, 1)), idempotencyKey: 'order-4' },
      ]) {
        const error = await service.start(attempt).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(TooManyActiveRunsError);
        expect(error).toMatchObject({ lockId: FULL, limit: 3 });
        expect((error as TooManyActiveRunsError).retryAfterSeconds).toBeGreaterThan(0);
      }
      await expect(handleOf(idempotentInstanceId('acme', FULL, 'order-4')).describe()).rejects.toBeInstanceOf(
        WorkflowNotFoundError,
      );

      // The same request with its Idempotency-Key: the run it started, however full the lock is now.
      await expect(service.start(idempotent)).resolves.toEqual({ instanceId: first.instanceId, replayed: true });
      // The same key with another body is still a conflict, not a full lock.
      await expect(
        service.start({ ...request(FULL, keysOf(FULL, 1)), idempotencyKey: 'order-1' }),
      ).rejects.toBeInstanceOf(IdempotencyConflictError);

      const elsewhere = await service.start(request(OTHER, keysOf(OTHER, 1)));
      expect(elsewhere.replayed).toBe(false);
      expect((await handleOf(elsewhere.instanceId).describe()).status.name).toBe('RUNNING');

      const onFullLock = async () => {
        const ids: string[] = [];
        const query = `WorkflowType = '${BULK_ADD_KEYS_WORKFLOW}' AND ${LOCK_ID_SEARCH_ATTRIBUTE} = ${FULL}`;
        for await (const run of devServer().client.workflow.list({ query })) {
          ids.push(run.workflowId);
        }
        return ids.sort();
      };
      expect(await countOnLock(FULL)).toBe(3);
      expect(await onFullLock()).toEqual([...open].sort());
    });

    test('a run that closed frees its place', async () => {
      const lockId = 603;
      const runs = [];
      for (let i = 0; i < 3; i++) runs.push(await stack.service.start(request(lockId, keysOf(lockId, 1))));
      await eventually(async () => ((await countOnLock(lockId, 'Running')) === 3 ? true : undefined), 10_000, '3');
      await expect(stack.service.start(request(lockId, keysOf(lockId, 1)))).rejects.toBeInstanceOf(
        TooManyActiveRunsError,
      );
      await handleOf(runs[0]!.instanceId).terminate('test: the run closes');
      const next = await eventually(
        () => stack.service.start(request(lockId, keysOf(lockId, 1))),
        // The lock finds a terminated run at its review (the first one 15 s after it started).
        30_000,
        'a start once a run closed',
      );
      expect(next.replayed).toBe(false);
      await eventually(async () => ((await countOnLock(lockId, 'Running')) === 3 ? true : undefined), 10_000, '3');
    });
  });

  describe('status without a worker', () => {
    test.each([
      ['a run of one workflow run', 1_000],
      ['a run that continued as new', 2],
    ])('%s: every key the lock received and the run recorded is added, from history', async (_name, maxKeysPerRun) => {
      const lockId = maxKeysPerRun === 2 ? 702 : 701;
      const stack = await startStack({ settings: runSettings({ commandGapMs: 500, maxKeysPerRun }) });
      try {
        const keys = keysOf(lockId, 8);
        const { instanceId } = await stack.service.start(request(lockId, keys));
        await eventually(async () => stack.backend.received(lockId).length >= 3 || undefined, 20_000, '3 commands');
        await stack.stopWorkers();

        const received = stack.backend.received(lockId);
        expect(received.length).toBeLessThan(keys.length);
        const recorded = await recordedKeys(instanceId);
        expect(recorded.length).toBeGreaterThanOrEqual(2);
        // What the run recorded is what the lock received, in order.
        expect(received.slice(0, recorded.length)).toEqual(recorded);
        if (maxKeysPerRun === 2) expect(await continuedAsNew(instanceId)).toBe(true);

        const startedAt = Date.now();
        const body = await stack.service.status(refOf(lockId, instanceId));
        expect(Date.now() - startedAt).toBeLessThan(10_000);
        expect(body).toMatchObject({ instanceId, lockId, status: 'running', closedAt: null });
        expect(body.keys.map((key) => key.keyUuid)).toEqual(keys.map((key) => key.keyUuid));
        for (const key of body.keys) {
          // A command the lock got but the run did not record is in flight; one it never got may be, at most.
          const expected = recorded.includes(key.keyUuid)
            ? ['added']
            : received.includes(key.keyUuid)
              ? ['adding']
              : ['pending', 'adding'];
          expect([key.keyUuid, expected.includes(key.status)]).toEqual([key.keyUuid, true]);
          if (key.status === 'added') expect(key.attempts).toBe(1);
        }
        expect(body.keys.filter((key) => key.status === 'adding').length).toBeLessThanOrEqual(1);
        expect(body.summary).toEqual({
          total: keys.length,
          added: recorded.length,
          failed: 0,
          pending: keys.length - recorded.length,
          cancelled: 0,
        });
      } finally {
        await stack.close();
      }
    });

    test('a completed run that continued as new lists every key with its outcome', async () => {
      const lockId = 703;
      const stack = await startStack({ settings: runSettings({ maxKeysPerRun: 2 }) });
      try {
        const keys = keysOf(lockId, 5);
        const { instanceId } = await stack.service.start(request(lockId, keys));
        await handleOf(instanceId).result();
        expect(await continuedAsNew(instanceId)).toBe(true);
        const body = await stack.service.status(refOf(lockId, instanceId));
        expect(body).toMatchObject({ status: 'complete', closedAt: expect.any(String) });
        expect(body.keys).toEqual(keys.map((key) => ({ ...key, status: 'added', attempts: 1, error: null })));
        expect(body.summary).toEqual({ total: 5, added: 5, failed: 0, pending: 0, cancelled: 0 });
        expect(stack.backend.received(lockId)).toEqual(keys.map((key) => key.keyUuid));
      } finally {
        await stack.close();
      }
    });
  });

  describe('pause, resume and cancel through the service', () => {
    let stack: Stack;
    beforeAll(async () => {
      stack = await startStack({ settings: runSettings({ commandGapMs: 300 }) });
    });
    afterAll(() => stack?.close());

    test('pause → paused once the run processed it; resume → it goes on; a closed run is RunAlreadyClosedError', async () => {
      const lockId = 801;
      const { service, backend } = stack;
      const keys = keysOf(lockId, 4);
      const { instanceId } = await service.start(request(lockId, keys));
      const ref = refOf(lockId, instanceId);
      await eventually(async () => backend.received(lockId).length >= 1 || undefined, 20_000, 'a first command');

      const answer = await service.pause(ref);
      expect(answer).toMatchObject({ instanceId, lockId, closedAt: null });
      const paused = await untilStatus(service, ref, 'paused');
      // The command at the lock finished and was recorded; nothing was left half-sent.
      const sent = backend.received(lockId);
      expect(paused.summary.added).toBe(sent.length);
      expect(paused.keys.filter((key) => key.status === 'adding')).toEqual([]);
      expect(sent.length).toBeLessThan(keys.length);
      // Pausing a paused run changes nothing.
      expect((await service.pause(ref)).status).toBe('paused');

      // The next command waits at the lock, so the resumed run is seen running.
      backend.hold(lockId);
      await service.resume(ref);
      await untilStatus(service, ref, 'running', 'queued');
      await eventually(async () => backend.received(lockId).length > sent.length || undefined, 20_000, 'a command');
      expect((await untilStatus(service, ref, 'running')).status).toBe('running');
      // Resuming a running run changes nothing.
      expect((await service.resume(ref)).status).toBe('running');
      backend.release(lockId);
      await handleOf(instanceId).result();
      expect(backend.received(lockId)).toEqual(keys.map((key) => key.keyUuid));

      for (const action of ['pause', 'resume', 'cancel'] as const) {
        const error = await service[action](ref).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(RunAlreadyClosedError);
        expect((error as RunAlreadyClosedError).action).toBe(action);
      }
    });

    test('a paused run can be cancelled: what was sent stays added, the rest ends cancelled', async () => {
      const lockId = 802;
      const { service, backend } = stack;
      const keys = keysOf(lockId, 4);
      const { instanceId } = await service.start(request(lockId, keys));
      const ref = refOf(lockId, instanceId);
      await eventually(async () => backend.received(lockId).length >= 1 || undefined, 20_000, 'a first command');
      await service.pause(ref);
      await untilStatus(service, ref, 'paused');
      const sent = backend.received(lockId);

      await service.cancel(ref);
      const body = await untilStatus(service, ref, 'cancelled');
      expect(body.closedAt).toEqual(expect.any(String));
      expect(body.keys.map((key) => [key.keyUuid, key.status])).toEqual(
        keys.map((key) => [key.keyUuid, sent.includes(key.keyUuid) ? 'added' : 'cancelled']),
      );
      expect(body.summary).toMatchObject({ added: sent.length, pending: 0, cancelled: keys.length - sent.length });
      expect(backend.received(lockId)).toEqual(sent);
    });
  });
});

/** The keys whose `addKey` outcome the run has recorded: settled in the state it started from, then in its events. */
async function recordedKeys(instanceId: string): Promise<string[]> {
  const events = (await handleOf(instanceId).fetchHistory()).events ?? [];
  const decode = (payload: temporal.api.common.v1.IPayload | null | undefined) =>
    payload ? defaultPayloadConverter.fromPayload(payload) : undefined;
  const start = decode(events[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0]) as
    BulkAddKeysInput | BulkAddKeysState;
  const keys = start.keys.map((key) => key.keyUuid);
  const recorded = 'settings' in start ? start.keys.filter((key) => key.status === 'added').map((k) => k.keyUuid) : [];
  for (const event of events) {
    const marker = event.markerRecordedEventAttributes;
    const record = decode(marker?.details?.data?.payloads?.[0]) as { activity_type?: string } | undefined;
    // addKey is the only regular activity of a run.
    if ((record?.activity_type === 'addKey' && !marker?.failure) || event.activityTaskCompletedEventAttributes) {
      recorded.push(keys[recorded.length]!);
    }
  }
  return recorded;
}

/** The run's latest workflow run started from a carried state: it continued as new at least once. */
async function continuedAsNew(instanceId: string): Promise<boolean> {
  const first = (await handleOf(instanceId).fetchHistory()).events?.[0];
  const input = first?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
  return input !== undefined && 'settings' in (defaultPayloadConverter.fromPayload(input) as object);
}
