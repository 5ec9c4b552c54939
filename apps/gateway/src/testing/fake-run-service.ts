import type { KeySpec, RunList, RunStatus, RunStatusBody, WebhookEndpointStatus } from '@lockkeys/contracts';
import { CLOSED_RUN_STATUSES, summarize } from '@lockkeys/contracts';
import {
  IdempotencyConflictError,
  InvalidCursorError,
  RunAlreadyClosedError,
  RunNotFoundError,
  type ListRunsRequest,
  type RunAction,
  type RunRef,
  type RunService,
  type StartedRun,
  type StartRunRequest,
  TemporalUnavailableError,
} from '../runs';
import type { RunServiceCall, RunServiceLog } from './recording-run-service';

export type { RunServiceCall } from './recording-run-service';

interface FakeRun {
  lockId: number;
  orgId: string;
  status: RunStatus;
  keys: KeySpec[];
}

const CREATED_AT = '2025-01-01T00:00:00.000Z';

/**
 * In-memory {@link RunService} for gateway tests: records every call, keeps `started` and `cancelled`
 * apart (what a real Temporal would have done), and enforces org/lock ownership like the real one.
 */
export class FakeRunService implements RunService, RunServiceLog {
  readonly calls: RunServiceCall[] = [];
  /** Runs this fake actually started (replays excluded). */
  readonly started: StartRunRequest[] = [];
  /** Runs this fake actually cancelled. */
  readonly cancelled: RunRef[] = [];
  /** When set, every call fails as if Temporal were down. */
  unavailable = false;
  /** When set, every call throws it (an unexpected failure). */
  failure: Error | undefined;
  readiness: boolean | Error = true;
  private readonly runs = new Map<string, FakeRun>();
  private readonly idempotency = new Map<string, { instanceId: string; keysJson: string }>();

  /** Puts a run in place without counting it as started by a request. */
  seedRun(instanceId: string, run: { lockId: number; orgId: string; status?: RunStatus; keys?: KeySpec[] }): void {
    this.runs.set(instanceId, {
      status: 'running',
      keys: [{ keyUuid: 'seed', keyIndexNumber: 0, userId: 'u' }],
      ...run,
    });
  }

  /** Records an earlier request with `idempotencyKey`, as if it had started `instanceId`. */
  seedIdempotencyKey(ref: RunRef, idempotencyKey: string, keys: KeySpec[]): void {
    this.seedRun(ref.instanceId, { lockId: ref.lockId, orgId: ref.orgId, keys });
    this.idempotency.set(this.idempotencyId(ref.orgId, ref.lockId, idempotencyKey), {
      instanceId: ref.instanceId,
      keysJson: JSON.stringify(keys),
    });
  }

  async start(request: StartRunRequest): Promise<StartedRun> {
    this.calls.push({ method: 'start', request: structuredClone(request) });
    this.failIfAsked();
    const { input, idempotencyKey } = request;
    const idempotencyId =
      idempotencyKey === undefined ? undefined : this.idempotencyId(input.orgId, input.lockId, idempotencyKey);
    const earlier = idempotencyId === undefined ? undefined : this.idempotency.get(idempotencyId);
    if (earlier !== undefined) {
      if (earlier.keysJson !== JSON.stringify(input.keys)) throw new IdempotencyConflictError('different body');
      return { instanceId: earlier.instanceId, replayed: true };
    }
    const instanceId = `lock-${input.lockId}-fake-${this.started.length + 1}`;
    this.started.push(structuredClone(request));
    this.runs.set(instanceId, { lockId: input.lockId, orgId: input.orgId, status: 'queued', keys: input.keys });
    if (idempotencyId !== undefined) {
      this.idempotency.set(idempotencyId, { instanceId, keysJson: JSON.stringify(input.keys) });
    }
    return { instanceId, replayed: false };
  }

  async status(ref: RunRef): Promise<RunStatusBody> {
    this.calls.push({ method: 'status', ref: { ...ref } });
    this.failIfAsked();
    return this.body(ref, this.owned(ref));
  }

  async cancel(ref: RunRef): Promise<RunStatusBody> {
    this.calls.push({ method: 'cancel', ref: { ...ref } });
    this.failIfAsked();
    const run = this.open(ref, 'cancel');
    run.status = 'cancelled';
    this.cancelled.push({ ...ref });
    return this.body(ref, run);
  }

  async pause(ref: RunRef): Promise<RunStatusBody> {
    this.calls.push({ method: 'pause', ref: { ...ref } });
    this.failIfAsked();
    const run = this.open(ref, 'pause');
    run.status = 'paused';
    return this.body(ref, run);
  }

  async resume(ref: RunRef): Promise<RunStatusBody> {
    this.calls.push({ method: 'resume', ref: { ...ref } });
    this.failIfAsked();
    const run = this.open(ref, 'resume');
    if (run.status === 'paused') run.status = 'queued';
    return this.body(ref, run);
  }

  /** The organization's runs on the lock in insertion order, newest first; a cursor is `fake:<offset>:<org>`. */
  async list(request: ListRunsRequest): Promise<RunList> {
    this.calls.push({ method: 'list', request: { ...request } });
    this.failIfAsked();
    let offset = 0;
    if (request.cursor !== undefined) {
      const [tag, at, org] = request.cursor.split(':');
      if (tag !== 'fake' || org !== request.orgId || !/^\d+$/.test(at ?? ''))
        throw new InvalidCursorError('fake cursor');
      offset = Number(at);
    }
    const runs = [...this.runs.entries()]
      .reverse()
      .filter(([, run]) => run.orgId === request.orgId && run.lockId === request.lockId)
      .filter(([, run]) => request.status === undefined || run.status === request.status)
      .map(([instanceId, run]) => {
        const { keys: _keys, ...item } = this.body({ instanceId, lockId: run.lockId, orgId: run.orgId }, run);
        return item;
      });
    const page = runs.slice(offset, offset + request.limit);
    const next = offset + request.limit < runs.length ? `fake:${offset + request.limit}:${request.orgId}` : null;
    return { runs: page, nextCursor: next };
  }

  /** The endpoints `webhooks` answers, by organization (none: the organization has no webhook). */
  readonly endpoints = new Map<string, WebhookEndpointStatus[]>();

  async webhooks(orgId: string): Promise<WebhookEndpointStatus[]> {
    this.calls.push({ method: 'webhooks', orgId });
    this.failIfAsked();
    return structuredClone(this.endpoints.get(orgId) ?? []);
  }

  async ready(): Promise<boolean> {
    if (this.readiness instanceof Error) throw this.readiness;
    return this.readiness && !this.unavailable;
  }

  async close(): Promise<void> {}

  private failIfAsked(): void {
    if (this.unavailable) throw new TemporalUnavailableError('fake: Temporal is down');
    if (this.failure !== undefined) throw this.failure;
  }

  private idempotencyId(orgId: string, lockId: number, key: string): string {
    return JSON.stringify([orgId, lockId, key]);
  }

  private owned(ref: RunRef): FakeRun {
    const run = this.runs.get(ref.instanceId);
    if (run === undefined || run.orgId !== ref.orgId || run.lockId !== ref.lockId) {
      throw new RunNotFoundError(`fake: no run ${ref.instanceId} for ${ref.orgId} on lock ${ref.lockId}`);
    }
    return run;
  }

  private open(ref: RunRef, action: RunAction): FakeRun {
    const run = this.owned(ref);
    if (CLOSED_RUN_STATUSES.includes(run.status)) throw new RunAlreadyClosedError(action, `${ref.instanceId} closed`);
    return run;
  }

  private body(ref: RunRef, run: FakeRun): RunStatusBody {
    const closed = CLOSED_RUN_STATUSES.includes(run.status);
    const keyStatus = run.status === 'cancelled' ? 'cancelled' : run.status === 'complete' ? 'added' : 'pending';
    const keys = run.keys.map((key) => ({ ...key, status: keyStatus, attempts: 0, error: null }) as const);
    return {
      instanceId: ref.instanceId,
      lockId: run.lockId,
      status: run.status,
      createdAt: CREATED_AT,
      closedAt: closed ? CREATED_AT : null,
      summary: summarize(keys),
      keys,
    };
  }
}
