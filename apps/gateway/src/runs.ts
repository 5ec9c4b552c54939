import type { BulkAddKeysInput, RunList, RunStatus, RunStatusBody, WebhookEndpointStatus } from '@lockkeys/contracts';

/** Which run a caller asks about, and who asks: a run of another organization or lock is not found. */
export interface RunRef {
  instanceId: string;
  lockId: number;
  orgId: string;
}

export interface StartRunRequest {
  input: BulkAddKeysInput;
  /** The client's `Idempotency-Key` header, already validated. */
  idempotencyKey?: string;
}

export interface StartedRun {
  instanceId: string;
  /** True when an earlier request with the same Idempotency-Key started the run: nothing new was started. */
  replayed: boolean;
}

/** One page of a lock's runs, for one organization. */
export interface ListRunsRequest {
  lockId: number;
  orgId: string;
  status?: RunStatus;
  limit: number;
  /** As it came from the client; the service checks it belongs to this lock, organization and status. */
  cursor?: string;
}

/**
 * The gateway's whole view of Temporal: start, list, read, cancel, pause and resume `bulkAddKeys` runs, and the
 * organizations' webhook endpoints. Tests
 * pass a fake. Every method throws {@link TemporalUnavailableError} when Temporal cannot be reached.
 */
export interface RunService {
  /**
   * Starts a run, or finds the one an earlier request with the same Idempotency-Key started. Throws
   * {@link IdempotencyConflictError}, {@link TooManyActiveRunsError}.
   */
  start(request: StartRunRequest): Promise<StartedRun>;
  /** The organization's runs on a lock, newest first. Throws {@link InvalidCursorError}. */
  list(request: ListRunsRequest): Promise<RunList>;
  /** The run's status body. Throws {@link RunNotFoundError} (also for another organization's or lock's run). */
  status(ref: RunRef): Promise<RunStatusBody>;
  /** Requests cancellation and answers the status body. Throws {@link RunNotFoundError}, {@link RunAlreadyClosedError}. */
  cancel(ref: RunRef): Promise<RunStatusBody>;
  /** Pauses the run (a paused one stays paused). Throws {@link RunNotFoundError}, {@link RunAlreadyClosedError}. */
  pause(ref: RunRef): Promise<RunStatusBody>;
  /** Resumes a paused run (any other stays as it is). Throws {@link RunNotFoundError}, {@link RunAlreadyClosedError}. */
  resume(ref: RunRef): Promise<RunStatusBody>;
  /** The organization's webhook endpoints and how their deliveries stand (none: no endpoint configured). */
  webhooks(orgId: string): Promise<WebhookEndpointStatus[]>;
  /** True when Temporal answers; never throws. */
  ready(): Promise<boolean>;
  /** Releases the connection; once, at shutdown. */
  close(): Promise<void>;
}

/** What a client may do to an open run. */
export type RunAction = 'cancel' | 'pause' | 'resume';

/** Temporal could not be reached (down, overloaded, or too slow to answer): 503. */
export class TemporalUnavailableError extends Error {
  override name = 'TemporalUnavailableError';
}

/** No such run for this organization and lock: 404. */
export class RunNotFoundError extends Error {
  override name = 'RunNotFoundError';
}

/** Cancel, pause or resume of a run that has already closed: 409. */
export class RunAlreadyClosedError extends Error {
  override name = 'RunAlreadyClosedError';
  constructor(
    readonly action: RunAction,
    message: string,
  ) {
    super(message);
  }
}

/** The Idempotency-Key was used before with another body (or lock): 409. */
export class IdempotencyConflictError extends Error {
  override name = 'IdempotencyConflictError';
}

/** The lock already has `MAX_ACTIVE_RUNS_PER_LOCK` runs queued, running or paused: 429, nothing started. */
export class TooManyActiveRunsError extends Error {
  override name = 'TooManyActiveRunsError';
  constructor(
    readonly lockId: number,
    readonly limit: number,
    readonly retryAfterSeconds: number,
  ) {
    super(`lock ${lockId} already has ${limit} active runs`);
  }
}

/** A listing cursor that is not one this gateway gave for the same lock, organization and status: 400. */
export class InvalidCursorError extends Error {
  override name = 'InvalidCursorError';
}
