import type { BulkAddKeysInput, RunStatusBody } from '@lockkeys/contracts';

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

/**
 * The gateway's whole view of Temporal: start, read and cancel `bulkAddKeys` runs. Tests pass a fake.
 * Every method throws {@link TemporalUnavailableError} when Temporal cannot be reached.
 */
export interface RunService {
  /** Starts a run, or finds the one an earlier request with the same Idempotency-Key started. Throws {@link IdempotencyConflictError}. */
  start(request: StartRunRequest): Promise<StartedRun>;
  /** The run's status body. Throws {@link RunNotFoundError} (also for another organization's or lock's run). */
  status(ref: RunRef): Promise<RunStatusBody>;
  /** Requests cancellation and answers the status body. Throws {@link RunNotFoundError}, {@link RunAlreadyClosedError}. */
  cancel(ref: RunRef): Promise<RunStatusBody>;
  /** True when Temporal answers; never throws. */
  ready(): Promise<boolean>;
  /** Releases the connection; once, at shutdown. */
  close(): Promise<void>;
}

/** Temporal could not be reached (down, overloaded, or too slow to answer): 503. */
export class TemporalUnavailableError extends Error {
  override name = 'TemporalUnavailableError';
}

/** No such run for this organization and lock: 404. */
export class RunNotFoundError extends Error {
  override name = 'RunNotFoundError';
}

/** Cancel of a run that has already closed: 409. */
export class RunAlreadyClosedError extends Error {
  override name = 'RunAlreadyClosedError';
}

/** The Idempotency-Key was used before with another body (or lock): 409. */
export class IdempotencyConflictError extends Error {
  override name = 'IdempotencyConflictError';
}
