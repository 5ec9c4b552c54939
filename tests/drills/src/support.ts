import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { KeySpec, RunStatusBody } from '@lockkeys/contracts';
import {
  answers200,
  freePort,
  mintJwt,
  startService,
  startStack,
  type RunningService,
  type Stack,
  type StackPorts,
} from '@lockkeys/dev-stack';
import { DEV_API_KEY, DEV_JWT_SECRET } from '@lockkeys/contracts';
import type { Client } from '@temporalio/client';

/** The repository root (the drills run against the built tree). */
const ROOT_DIR = resolve(__dirname, '..', '..', '..');
/** The simulator's dev token (LOCK_BACKEND_TOKEN default). */
const LOCK_TOKEN = 'dev-lock-token';
/** KEY_COMMAND_GAP_MS as the drills run it: the production default. */
export const GAP_MS = 1_000;

/** One command in the simulator's journal. */
export interface JournalEntry {
  at: number;
  keyIndexNumber: number;
  keyUuid: string;
  status: number;
  dropped?: true;
}

/** Fault injection of the simulator (`PUT /faults`, partial). */
export interface Faults {
  failureRate?: number;
  latencyMs?: number;
  slowRate?: number;
  dropRate?: number;
  offlineLocks?: number[];
  seed?: string | null;
}

/** One accepted request: its keys on one lock and the instanceId the gateway answered. */
export interface Run {
  lockId: number;
  keys: KeySpec[];
  instanceId: string;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` until it returns a value (errors count as "not yet"), or fails after `timeoutMs`. */
export async function eventually<T>(probe: () => Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(250);
  }
}

/** `count` keys for `lockId`, slots `first..first+count-1`, uuids unique per drill. */
export const keysFor = (drill: string, lockId: number, count: number, first = 1): KeySpec[] =>
  Array.from({ length: count }, (_, i) => ({
    keyUuid: `${drill}-${lockId}-${first + i}`,
    keyIndexNumber: first + i,
    userId: `user-${first + i}`,
  }));

/**
 * A whole stack (Temporal dev server, simulator, worker, gateway) on free ports and a scratch data dir,
 * with the gateway and simulator as a drill sees them and every process it started stopped by pid.
 */
export class DrillStack {
  private readonly extraWorkers: RunningService[] = [];
  private readonly jwt = mintJwt(DEV_JWT_SECRET, { sub: 'drills', org: 'dev' });

  private constructor(
    readonly stack: Stack,
    private readonly dataDir: string,
  ) {}

  static async start(name: string, env: NodeJS.ProcessEnv = {}): Promise<DrillStack> {
    const ports: StackPorts = {
      temporal: await freePort(),
      temporalUi: await freePort(),
      simulator: await freePort(),
      gateway: await freePort(),
      workerHealth: await freePort(),
      workerMetrics: await freePort(),
    };
    // Status is polled every second for several runs: the per-key rate limit (120/min) is not under test here.
    const fullEnv = { LOG_LEVEL: 'warn', RATE_LIMIT_PER_MINUTE: '100000', KEY_COMMAND_GAP_MS: String(GAP_MS), ...env };
    const dataDir = mkdtempSync(join(tmpdir(), `lockkeys-drill-${name}-`));
    const stack = await startStack({ rootDir: ROOT_DIR, dataDir, ports, env: fullEnv, print: () => undefined });
    return new DrillStack(stack, dataDir);
  }

  /** Stops the extra workers, then the stack (gateway first, Temporal last), and removes its data. */
  async stop(): Promise<void> {
    for (const worker of this.extraWorkers) await worker.stop();
    await this.stack.stop();
    rmSync(this.dataDir, { recursive: true, force: true });
  }

  /** A second worker process on the same task queue, with the stack worker's environment and its own ports. */
  async startExtraWorker(): Promise<RunningService> {
    const [health, metrics] = [await freePort(), await freePort()];
    const worker = await startService(
      {
        name: 'worker-2',
        command: process.execPath,
        args: [join(ROOT_DIR, 'apps/worker/dist/main.js')],
        env: {
          ...this.stack.appEnv,
          WORKER_HEALTH_PORT: String(health),
          WORKER_METRICS_PORT: String(metrics),
        },
        ready: () => answers200(`http://127.0.0.1:${health}/readyz`),
        stopTimeoutMs: 40_000,
      },
      () => undefined,
    );
    this.extraWorkers.push(worker);
    return worker;
  }

  private gatewayHeaders(): Record<string, string> {
    return { authorization: `Bearer ${this.jwt}`, 'x-api-key': DEV_API_KEY, 'content-type': 'application/json' };
  }

  /** `POST /locks/{lockId}/BulkAddKeys`: the HTTP status, headers and body as the gateway answered. */
  async postKeys(
    lockId: number,
    keys: KeySpec[],
    headers: Record<string, string> = {},
  ): Promise<{ status: number; headers: Headers; body: Record<string, unknown> }> {
    const response = await fetch(`${this.stack.gatewayUrl}/locks/${lockId}/BulkAddKeys`, {
      method: 'POST',
      headers: { ...this.gatewayHeaders(), ...headers },
      body: JSON.stringify({ keys }),
    });
    return {
      status: response.status,
      headers: response.headers,
      body: (await response.json()) as Record<string, unknown>,
    };
  }

  /** Starts a run; fails the drill unless the gateway accepts it. */
  async startRun(lockId: number, keys: KeySpec[], headers: Record<string, string> = {}): Promise<Run> {
    const { status, body } = await this.postKeys(lockId, keys, headers);
    if (status !== 202) throw new Error(`BulkAddKeys on lock ${lockId}: ${status} ${JSON.stringify(body)}`);
    return { lockId, keys, instanceId: body.instanceId as string };
  }

  /** `GET /locks/{lockId}/BulkAddKeys/{instanceId}`. */
  async runStatus(run: Run): Promise<{ status: number; body: RunStatusBody }> {
    const response = await fetch(`${this.stack.gatewayUrl}/locks/${run.lockId}/BulkAddKeys/${run.instanceId}`, {
      headers: this.gatewayHeaders(),
      signal: AbortSignal.timeout(15_000),
    });
    return { status: response.status, body: (await response.json()) as RunStatusBody };
  }

  /** Waits until every run is closed, as the status endpoint reports it; returns the final bodies in order. */
  async closedRuns(runs: readonly Run[], timeoutMs = 180_000): Promise<RunStatusBody[]> {
    const bodies: RunStatusBody[] = [];
    for (const run of runs) {
      bodies.push(
        await eventually(
          async () => {
            const { status, body } = await this.runStatus(run);
            return status === 200 && body.closedAt !== null ? body : undefined;
          },
          timeoutMs,
          `run ${run.instanceId} on lock ${run.lockId} to close`,
        ),
      );
    }
    return bodies;
  }

  private async simulator(path: string, init: RequestInit = {}): Promise<unknown> {
    const response = await fetch(`${this.stack.simulatorUrl}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${LOCK_TOKEN}`, 'content-type': 'application/json' },
    });
    if (response.status !== 200) throw new Error(`simulator ${path}: ${response.status} ${await response.text()}`);
    return response.json();
  }

  async setFaults(faults: Faults): Promise<void> {
    await this.simulator('/faults', { method: 'PUT', body: JSON.stringify(faults) });
  }

  async journal(lockId: number): Promise<JournalEntry[]> {
    return ((await this.simulator(`/locks/${lockId}/commands`)) as { commands: JournalEntry[] }).commands;
  }

  async slots(lockId: number): Promise<{ keyIndexNumber: number; keyUuid: string; userId: string }[]> {
    return (
      (await this.simulator(`/locks/${lockId}/keys`)) as {
        keys: { keyIndexNumber: number; keyUuid: string; userId: string }[];
      }
    ).keys;
  }

  /** Waits until the locks' journals hold at least `count` commands in all: the batch is in flight. */
  async commandsReached(lockIds: readonly number[], count: number, timeoutMs = 60_000): Promise<void> {
    await eventually(
      async () => {
        const journals = await Promise.all(lockIds.map((lockId) => this.journal(lockId)));
        return journals.flat().length >= count ? true : undefined;
      },
      timeoutMs,
      `${count} commands to locks ${lockIds.join(', ')}`,
    );
  }
}

/** An `addKey` attempt as Temporal sees it while it runs. */
export interface RunningAddKey {
  run: Run;
  /** The worker's identity, `pid@host` (the SDK default). */
  workerIdentity: string;
  /** When the attempt started, epoch ms. */
  startedAt: number;
}

/**
 * Waits for an `addKey` attempt of `runs` that started less than a gap ago. An attempt may first wait out the
 * rest of the gap, so its command is surely at a lock slower than the gap from `startedAt + GAP_MS` on.
 */
export async function freshAddKey(client: Client, runs: readonly Run[]): Promise<RunningAddKey> {
  return eventually(
    async () => {
      for (const run of runs) {
        const { raw } = await client.workflow.getHandle(run.instanceId).describe();
        for (const activity of raw.pendingActivities ?? []) {
          const started = activity.lastStartedTime;
          if (activity.activityType?.name !== 'addKey' || !started?.seconds || !activity.lastWorkerIdentity) continue;
          const startedAt = Number(started.seconds.toString()) * 1000 + Math.floor((started.nanos ?? 0) / 1e6);
          if (Date.now() < startedAt + GAP_MS) return { run, workerIdentity: activity.lastWorkerIdentity, startedAt };
        }
      }
      return undefined;
    },
    60_000,
    'an addKey attempt to start',
  );
}

/**
 * A batch of 12 keys on two locks: `lockA` gets one run of 6 keys; `lockB` two runs of 3, the second queued
 * behind the first by the lock's mutex (so the gap across runs is under test too).
 */
export async function startBatch(drill: DrillStack, name: string, lockA: number, lockB: number): Promise<Run[]> {
  return [
    await drill.startRun(lockA, keysFor(name, lockA, 6)),
    await drill.startRun(lockB, keysFor(name, lockB, 3)),
    await drill.startRun(lockB, keysFor(name, lockB, 3, 4)),
  ];
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
  drill: DrillStack,
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
    const commands = await drill.journal(lockId);
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

    const slots = (await drill.slots(lockId)).map(({ keyIndexNumber, keyUuid, userId }) => ({
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
