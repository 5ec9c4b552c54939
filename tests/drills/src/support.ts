import type { KeySpec, RunStatusBody } from '@lockkeys/contracts';
import {
  eventually,
  expectStatus,
  keyIndexes,
  keysFor as keysOnSlots,
  sleep,
  TestStack,
  type StackEngine,
  type TestStackOptions,
} from '@lockkeys/testing';
import type { Client } from '@temporalio/client';

/** KEY_COMMAND_GAP_MS as the drills run it: the production default. */
export const GAP_MS = 1_000;

/** One accepted request: its keys on one lock and the instanceId the gateway answered. */
export interface Run {
  lockId: number;
  keys: KeySpec[];
  instanceId: string;
}

/** `count` keys for `lockId`, slots `first..first+count-1`, uuids unique per drill. */
export const keysFor = (drill: string, lockId: number, count: number, first = 1): KeySpec[] =>
  keysOnSlots(lockId, keyIndexes(count, first), drill);

/**
 * The drill file's whole stack (started before its test, stopped after), at the production gap; on the dev server
 * unless `options.engine` says `'postgres'`.
 */
export function drillStack(
  name: string,
  env: NodeJS.ProcessEnv = {},
  options: { engine?: StackEngine; print?: TestStackOptions['print'] } = {},
): TestStack {
  return TestStack.forSuite({
    name: `drill-${name}`,
    clientName: 'drills',
    env: { KEY_COMMAND_GAP_MS: String(GAP_MS), ...env },
    ...options,
  });
}

/** Starts a run; fails the drill unless the gateway accepts it. */
export async function startRun(
  drill: TestStack,
  lockId: number,
  keys: KeySpec[],
  headers: Record<string, string> = {},
): Promise<Run> {
  const { instanceId } = await drill.gateway.startRun(lockId, keys, headers);
  return { lockId, keys, instanceId };
}

/** Waits until every run is closed, as the status endpoint reports it; returns the final bodies in order. */
export async function closedRuns(
  drill: TestStack,
  runs: readonly Run[],
  timeoutMs = 180_000,
): Promise<RunStatusBody[]> {
  const bodies: RunStatusBody[] = [];
  for (const run of runs) bodies.push(await drill.gateway.waitForRun(run.lockId, run.instanceId, { timeoutMs }));
  return bodies;
}

/** An `addKey` attempt as Temporal sees it while it runs. */
export interface RunningAddKey {
  run: Run;
  /** The worker's identity, `pid@host` (the SDK default). */
  workerIdentity: string;
  /** When the attempt started, epoch ms (a regular activity's start, or the workflow task running a local one). */
  startedAt: number;
}

const epochMs = (time: { seconds?: unknown; nanos?: number | null } | null | undefined) =>
  Number(String(time?.seconds ?? 0)) * 1000 + Math.floor((time?.nanos ?? 0) / 1e6);

/**
 * Waits for an `addKey` attempt of `runs` that started less than a gap ago, with the lock slowed to seconds a
 * command: a regular activity that runs (its pending state names the worker), or a local one — a workflow task of a
 * run that holds its lock, started over 300 ms ago and still open (nothing else keeps one open that long; the task's
 * started event names the worker). An attempt may first wait out the rest of the gap, so its command is surely at
 * the lock from `startedAt + GAP_MS` on.
 */
export async function freshAddKey(client: Client, runs: readonly Run[]): Promise<RunningAddKey> {
  return eventually(
    async () => {
      for (const run of runs) {
        const handle = client.workflow.getHandle(run.instanceId);
        const { raw } = await handle.describe();
        for (const activity of raw.pendingActivities ?? []) {
          const started = activity.lastStartedTime;
          if (activity.activityType?.name !== 'addKey' || !started?.seconds || !activity.lastWorkerIdentity) continue;
          const startedAt = epochMs(started);
          if (Date.now() < startedAt + GAP_MS) return { run, workerIdentity: activity.lastWorkerIdentity, startedAt };
        }
        const task = raw.pendingWorkflowTask;
        if (!task?.startedTime?.seconds) continue;
        const startedAt = epochMs(task.startedTime);
        if (Date.now() < startedAt + 300 || Date.now() >= startedAt + GAP_MS) continue;
        const events = (await handle.fetchHistory()).events ?? [];
        const lastStarted = [...events].reverse().find((e) => e.workflowTaskStartedEventAttributes);
        const identity = lastStarted?.workflowTaskStartedEventAttributes?.identity;
        if (identity) return { run, workerIdentity: identity, startedAt };
      }
      return undefined;
    },
    60_000,
    'an addKey attempt to start',
    50,
  );
}

/**
 * The moment a kill is drilled at: with the lock slowed to 3 s a command, {@link startBatch} on `lockA` and `lockB`,
 * then the return half a second after a fresh `addKey` attempt's command surely reached the lock (its answer is
 * seconds away): whatever dies now dies with a command at the lock.
 */
export async function batchWithCommandAtLock(
  drill: TestStack,
  name: string,
  lockA: number,
  lockB: number,
): Promise<{ runs: Run[]; attempt: RunningAddKey }> {
  await drill.simulator.setFaults({ latencyMs: 3_000, slowRate: 1 });
  const runs = await startBatch(drill, name, lockA, lockB);
  await drill.simulator.waitForCommands([lockA, lockB], 2);
  const attempt = await freshAddKey(await drill.temporalClient(), runs);
  await sleep(attempt.startedAt + GAP_MS + 500 - Date.now());
  return { runs, attempt };
}

/**
 * A batch of 12 keys on two locks: `lockA` gets one run of 6 keys; `lockB` two runs of 3, the second queued
 * behind the first at the lock (so the gap across runs is under test too).
 */
export async function startBatch(drill: TestStack, name: string, lockA: number, lockB: number): Promise<Run[]> {
  return [
    await startRun(drill, lockA, keysFor(name, lockA, 6)),
    await startRun(drill, lockB, keysFor(name, lockB, 3)),
    await startRun(drill, lockB, keysFor(name, lockB, 3, 4)),
  ];
}

/** A worker process of a drill's stack (the stack's own or an extra one). */
type DrillWorker = Awaited<ReturnType<TestStack['startExtraWorker']>>;

/** What {@link killWorkerWithCommandAtLock} leaves for a drill to check and report. */
export interface WorkerKill {
  runs: Run[];
  attempt: RunningAddKey;
  /** The attempt's run as the gateway saw it just before the kill. */
  atKill: RunStatusBody;
  victim: DrillWorker;
  survivor: DrillWorker;
  killedAt: number;
  figures: DrillFigures;
}

/**
 * Of two workers, `kill -9` the one whose `addKey` attempt has its command at the lock, and let the survivor finish:
 * every promise of {@link expectEveryKeyAddedOnce}, the victim's command retried by the survivor as a `200` replay,
 * the survivor never exited. Returns what the drills report and check further.
 */
export async function killWorkerWithCommandAtLock(
  drill: TestStack,
  workers: readonly [DrillWorker, DrillWorker],
  name: string,
  lockA: number,
  lockB: number,
): Promise<WorkerKill> {
  const { runs, attempt } = await batchWithCommandAtLock(drill, name, lockA, lockB);
  // The victim: the worker running that attempt (its pending activity names it).
  const victim = workers.find((w) => attempt.workerIdentity.startsWith(`${w.pid}@`))!;
  const survivor = workers.find((w) => w !== victim)!;
  const atKill = await drill.gateway.run(attempt.run.lockId, attempt.run.instanceId);
  let survivorExited = false;
  void survivor.exited.then(() => (survivorExited = true));
  const killedAt = Date.now();
  await victim.stop('SIGKILL');
  await expect(victim.exited).resolves.toBeNull();
  await drill.simulator.setFaults({ latencyMs: 0 });

  const bodies = await closedRuns(drill, runs);
  const figures = await expectEveryKeyAddedOnce(drill, runs, bodies);
  expect(figures.replays).toBeGreaterThan(0);
  await new Promise((resolve) => setImmediate(resolve));
  expect(survivorExited).toBe(false);
  return { runs, attempt, atKill, victim, survivor, killedAt, figures };
}

/** A process of the postgres engine (`postgres`, `temporal-history`…). */
export type EngineServiceName = keyof NonNullable<TestStack['engine']>['services'];

/** The engine's processes its restart policy brought back, as `temporal-history ×1`. */
export function engineRestarts(drill: TestStack): string[] {
  return Object.values(drill.engine!.services)
    .filter((service) => service.restarts > 0)
    .map((service) => `${service.name} ×${service.restarts}`);
}

/** An engine process that went down behind the engine's back and came back by its restart policy. */
export interface EngineOutage {
  pid: number;
  newPid: number;
  /** Epoch ms of the signal. */
  at: number;
  /** From the signal until `serves` held for the new process. */
  goneMs: number;
}

/**
 * Sends `signal` to the postgres engine's process `name` itself — a crash (`SIGKILL`) or an operator's stop
 * (`SIGINT` to the postmaster is `pg_ctl stop -m fast`) — not through its `stop()`, which would also end its restart
 * policy. Resolves once the restart policy started a new process and `serves` (given the signal's time) holds.
 */
export async function signalEngineProcess(
  drill: TestStack,
  name: EngineServiceName,
  signal: NodeJS.Signals,
  serves: (at: number) => Promise<boolean>,
): Promise<EngineOutage> {
  const service = drill.engine!.services[name];
  const { pid, restarts } = service;
  const at = Date.now();
  process.kill(pid, signal);
  await eventually(
    async () => (service.restarts > restarts && (await serves(at)) ? true : undefined),
    60_000,
    `${name} restarted by the engine`,
    50,
  );
  return { pid, newPid: service.pid, at, goneMs: Date.now() - at };
}

/** What {@link engineOutageDrill} does: which engine process gets which signal, and on which locks. */
export interface EngineOutageSpec {
  /** Key prefix of the batch. */
  name: string;
  /** Two locks for the batch, a third for the POST sent while the process is down. */
  locks: readonly [number, number, number];
  service: EngineServiceName;
  signal: NodeJS.Signals;
  /** True once the new process serves again (given the signal's time). */
  serves: (at: number) => Promise<boolean>;
}

/**
 * The postgres engine's outage drill: a batch with a command at the lock, then `signal` to one engine process while a
 * client POSTs; the engine's restart policy brings it back. Checks every promise of {@link expectEveryKeyAddedOnce},
 * that the POST was `202` (then it is a run like the others) or SPEC's `503` that started nothing, that workers and
 * gateway rode it out (none exited) and the gateway is ready again.
 */
export async function engineOutageDrill(drill: TestStack, spec: EngineOutageSpec) {
  const [lockA, lockB, lockDuring] = spec.locks;
  const { runs } = await batchWithCommandAtLock(drill, spec.name, lockA, lockB);
  const { worker, 'worker-2': worker2, gateway } = drill.services;
  const exits: string[] = [];
  for (const service of [worker!, worker2!, gateway!])
    void service.exited.then((code) => exits.push(`${service.name} exited ${code}`));

  // The signal goes out first (synchronously), then the POST.
  const [outage, during] = await Promise.all([
    signalEngineProcess(drill, spec.service, spec.signal, spec.serves),
    startRunDuringOutage(drill, lockDuring, keysFor(`${spec.name}-down`, lockDuring, 2)),
  ]);
  await drill.simulator.setFaults({ latencyMs: 0 });
  expect([202, 503]).toContain(during.status);
  if (during.run) runs.push(during.run);

  const bodies = await closedRuns(drill, runs);
  const figures = await expectEveryKeyAddedOnce(drill, runs, bodies);
  if (!during.run) await expectNothingStarted(drill, lockDuring);
  const resumedMs = await firstCommandAfter(drill, [lockA, lockB], outage.at);
  expect(exits).toEqual([]);
  expect(await drill.gateway.readyz()).toBe(200);
  const summary =
    `next lock command ${((resumedMs ?? NaN) / 1000).toFixed(1)} s after the signal; a POST meanwhile: ` +
    `${during.status} after ${during.tookMs} ms; engine restarts: ${engineRestarts(drill).join(', ')}`;
  return { outage, figures, summary };
}

/** A request sent while part of the engine is down, and what the gateway made of it. */
export interface RequestDuringOutage {
  status: number;
  tookMs: number;
  /** The run it started, when the gateway accepted it (202). */
  run?: Run;
}

/** POSTs `keys` for `lockId` now; an accepted run is returned for the drill's checks like any other. */
export async function startRunDuringOutage(
  drill: TestStack,
  lockId: number,
  keys: KeySpec[],
): Promise<RequestDuringOutage> {
  const sentAt = Date.now();
  const answer = await drill.gateway.bulkAddKeys(lockId, keys);
  const tookMs = Date.now() - sentAt;
  if (answer.status !== 202) return { status: answer.status, tookMs };
  return { status: answer.status, tookMs, run: { lockId, keys, instanceId: expectStatus(answer, 202).instanceId } };
}

/**
 * A refused request started nothing (SPEC "Errors"): its lock received no command and Temporal holds no run for it.
 * Ask once the engine is whole again (on PostgreSQL, visibility queries fail for a while after an outage).
 */
export async function expectNothingStarted(drill: TestStack, lockId: number): Promise<void> {
  const client = await drill.temporalClient();
  const runs = await eventually(
    async () => (await client.workflow.count(`LockId = ${lockId}`)).count,
    30_000,
    `visibility to answer for lock ${lockId}`,
  );
  expect({ commands: await drill.simulator.journal(lockId), runs }).toEqual({ commands: [], runs: 0 });
}

/** How long after `at` the locks received their first command, in ms (undefined: none yet). */
export async function firstCommandAfter(drill: TestStack, lockIds: readonly number[], at: number) {
  const commands = (await Promise.all(lockIds.map((lockId) => drill.simulator.journal(lockId, at)))).flat();
  return commands.length === 0 ? undefined : Math.min(...commands.map((c) => c.at)) - at;
}

/** What a drill's journals showed, for its one-line report. */
export interface DrillFigures {
  commands: number;
  created: number;
  replays: number;
  unavailable: number;
  dropped: number;
  minGapMs: number;
}

// Slots as text: the simulator's JSON is parsed in another realm than Jest's, so prototype-aware deep equality fails.
const slotLines = (slots: readonly KeySpec[]) =>
  slots.map((k) => `${k.keyIndexNumber} ${k.keyUuid} ${k.userId}`).join('\n');

/**
 * The promises every drill checks once its runs closed, all at once so that one failure shows every broken
 * promise: per lock, exactly one `201` per key and no command for anything else; no two commands closer than
 * the gap (every journal entry counts, 429s included); the slots hold exactly the keys; every run `complete`
 * with every key `added`, its attempts covering the commands the lock saw for it.
 */
export async function expectEveryKeyAddedOnce(
  drill: TestStack,
  runs: readonly Run[],
  bodies: readonly RunStatusBody[],
): Promise<DrillFigures> {
  const figures: DrillFigures = { commands: 0, created: 0, replays: 0, unavailable: 0, dropped: 0, minGapMs: Infinity };
  const broken = {
    keysNotCreatedExactlyOnce: [] as unknown[],
    commandsTooClose: [] as unknown[],
    unexpectedCommands: [] as unknown[],
    slotsNotAsRequested: [] as unknown[],
    runsNotComplete: [] as unknown[],
    attemptsBelowCommands: [] as unknown[],
  };
  const commandsPerKey = new Map<string, number>();
  for (const lockId of [...new Set(runs.map((run) => run.lockId))]) {
    const keys = runs.filter((run) => run.lockId === lockId).flatMap((run) => run.keys);
    const commands = await drill.simulator.journal(lockId);
    for (const command of commands) commandsPerKey.set(command.keyUuid, (commandsPerKey.get(command.keyUuid) ?? 0) + 1);

    for (const key of keys) {
      const created = commands.filter((c) => c.keyUuid === key.keyUuid && c.status === 201).length;
      if (created !== 1) broken.keysNotCreatedExactlyOnce.push({ lockId, keyUuid: key.keyUuid, created });
    }
    for (let i = 1; i < commands.length; i++) {
      const gapMs = commands[i]!.at - commands[i - 1]!.at;
      figures.minGapMs = Math.min(figures.minGapMs, gapMs);
      if (gapMs < GAP_MS)
        broken.commandsTooClose.push({ lockId, gapMs, previous: commands[i - 1], command: commands[i] });
    }
    const known = new Set(keys.map((key) => key.keyUuid));
    // 200 is a replay, 503 an injected failure or an offline lock; 429 means a gap broken, 409 a slot clash.
    for (const c of commands)
      if (!known.has(c.keyUuid) || ![200, 201, 503].includes(c.status))
        broken.unexpectedCommands.push({ lockId, ...c });

    const slots = (await drill.simulator.slots(lockId)).map(({ keyIndexNumber, keyUuid, userId }) => ({
      keyIndexNumber,
      keyUuid,
      userId,
    }));
    const expected = [...keys]
      .sort((a, b) => a.keyIndexNumber - b.keyIndexNumber)
      .map(({ keyIndexNumber, keyUuid, userId }) => ({ keyIndexNumber, keyUuid, userId }));
    if (slotLines(slots) !== slotLines(expected)) broken.slotsNotAsRequested.push({ lockId, slots, expected });

    figures.commands += commands.length;
    figures.created += commands.filter((c) => c.status === 201).length;
    figures.replays += commands.filter((c) => c.status === 200).length;
    figures.unavailable += commands.filter((c) => c.status === 503).length;
    figures.dropped += commands.filter((c) => c.dropped).length;
  }

  runs.forEach((run, i) => {
    const body = bodies[i]!;
    const wrongKeys = run.keys.filter((key, k) => {
      const reported = body.keys[k];
      return (
        reported?.keyUuid !== key.keyUuid ||
        reported.keyIndexNumber !== key.keyIndexNumber ||
        reported.userId !== key.userId ||
        reported.status !== 'added' ||
        reported.error !== null
      );
    });
    const total = run.keys.length;
    const { summary } = body;
    const summaryRight =
      summary.total === total && summary.added === total && summary.failed + summary.pending + summary.cancelled === 0;
    const identityRight = body.instanceId === run.instanceId && body.lockId === run.lockId;
    if (
      body.status !== 'complete' ||
      body.closedAt === null ||
      !summaryRight ||
      !identityRight ||
      wrongKeys.length > 0 ||
      body.keys.length !== total
    ) {
      broken.runsNotComplete.push(body);
    }
    // `attempts` counts commands sent: never fewer than the lock received for the key.
    for (const key of body.keys) {
      const received = commandsPerKey.get(key.keyUuid) ?? 0;
      if (key.attempts < received)
        broken.attemptsBelowCommands.push({
          instanceId: run.instanceId,
          keyUuid: key.keyUuid,
          attempts: key.attempts,
          received,
        });
    }
  });
  expect(broken).toEqual({
    keysNotCreatedExactlyOnce: [],
    commandsTooClose: [],
    unexpectedCommands: [],
    slotsNotAsRequested: [],
    runsNotComplete: [],
    attemptsBelowCommands: [],
  });
  return figures;
}

/** One line per drill on stdout (outside Jest's console capture), for the record. */
export function report(name: string, startedAt: number, figures: DrillFigures, extra = ''): void {
  const seconds = ((Date.now() - startedAt) / 1000).toFixed(1);
  process.stdout.write(
    `drill ${name}: ${seconds} s, ${figures.commands} commands (${figures.created} × 201, ${figures.replays} × 200, ` +
      `${figures.unavailable} × 503, ${figures.dropped} dropped), min gap ${figures.minGapMs} ms${extra ? `; ${extra}` : ''}\n`,
  );
}

/** One POST of a burst: its request, and what the gateway answered first. */
export interface BurstPost {
  lockId: number;
  keys: KeySpec[];
  idempotencyKey: string;
  status: number;
  /** The run, when the gateway answered 202. */
  run?: Run;
}

/**
 * A burst of POSTs while something dies: `perLock` two-key runs on each of `lockIds`, one POST every `spacingMs`,
 * each with an Idempotency-Key, and `during` started once a third of them went out. Every answer must be `202` or
 * `503` (SPEC: nothing started). Resolves when every POST was answered and `during` is done.
 */
export async function burstOfPosts(
  drill: TestStack,
  name: string,
  lockIds: readonly number[],
  perLock: number,
  spacingMs: number,
  during: () => Promise<unknown>,
): Promise<BurstPost[]> {
  const requests = Array.from({ length: perLock }, (_, n) =>
    lockIds.map((lockId) => ({
      lockId,
      keys: keysFor(name, lockId, 2, 1 + 2 * n),
      idempotencyKey: `${name}-${lockId}-${n}`,
    })),
  ).flat();
  let duringDone: Promise<unknown> | undefined;
  const answers = requests.map(async (request, i) => {
    await sleep(i * spacingMs);
    if (i === Math.floor(requests.length / 3)) duringDone = during();
    const answer = await drill.gateway.bulkAddKeys(request.lockId, request.keys, {
      'Idempotency-Key': request.idempotencyKey,
    });
    const post: BurstPost = { ...request, status: answer.status };
    if (answer.status === 202) post.run = { ...request, instanceId: expectStatus(answer, 202).instanceId };
    return post;
  });
  const posts = await Promise.all(answers);
  await duringDone;
  expect(posts.filter((p) => p.status !== 202 && p.status !== 503).map((p) => [p.lockId, p.status])).toEqual([]);
  return posts;
}

/**
 * What a burst must leave, once Temporal is whole again: every 202's run complete with each key once (and nothing
 * else at the locks), and no run a client was not told about — the burst's locks hold exactly the 202s' runs, also
 * after the gateway's admission deadline for the 503s has passed. Then each 503 is retried with its Idempotency-Key,
 * as a client would: `202`, its run completes, still every key once. Returns the figures and the counts.
 */
export async function expectBurstKept(drill: TestStack, posts: readonly BurstPost[], admissionTimeoutMs: number) {
  const accepted = posts.flatMap((p) => (p.run ? [p.run] : []));
  const refused = posts.filter((p) => p.run === undefined);
  const lockIds = [...new Set(posts.map((p) => p.lockId))];
  await closedRuns(drill, accepted);
  // Long enough for any admission the gateway gave up on to have started a run, if it could: it must not.
  await sleep(admissionTimeoutMs + 2_000);
  const client = await drill.temporalClient();
  const runsOnLocks = async () => {
    const ids: string[] = [];
    const query = `WorkflowType = 'bulkAddKeys' AND LockId IN (${lockIds.join(', ')})`;
    for await (const run of client.workflow.list({ query })) ids.push(run.workflowId);
    return ids.sort();
  };
  expect(await runsOnLocks()).toEqual(accepted.map((r) => r.instanceId).sort());

  const retried: Run[] = [];
  for (const post of refused) {
    const answer = await drill.gateway.bulkAddKeys(post.lockId, post.keys, { 'Idempotency-Key': post.idempotencyKey });
    retried.push({ lockId: post.lockId, keys: post.keys, instanceId: expectStatus(answer, 202).instanceId });
  }
  const every = [...accepted, ...retried];
  const bodies = await closedRuns(drill, every);
  const figures = await expectEveryKeyAddedOnce(drill, every, bodies);
  expect(await runsOnLocks()).toEqual(every.map((r) => r.instanceId).sort());
  return { figures, accepted: accepted.length, refused: refused.length };
}
