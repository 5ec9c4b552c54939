import type { ListRunsRequest, RunRef, RunService, StartedRun, StartRunRequest } from '../runs';

/** One RunService call, as the gateway made it. */
export type RunServiceCall =
  | { method: 'start'; request: StartRunRequest }
  | { method: 'list'; request: ListRunsRequest }
  | { method: 'status' | 'cancel' | 'pause' | 'resume'; ref: RunRef }
  | { method: 'webhooks'; orgId: string };

/** What a test can see of the RunService behind a gateway: every call, and what it actually started or cancelled. */
export interface RunServiceLog {
  readonly calls: RunServiceCall[];
  /** Starts that started a run (idempotent replays excluded). */
  readonly started: StartRunRequest[];
  /** Cancels that went through. */
  readonly cancelled: RunRef[];
}

/**
 * Wraps a real {@link RunService} (Temporal-backed in the hostile suite) and keeps the same call log as the fake,
 * so a test against a real server still asserts which methods each request reached.
 */
export class RecordingRunService implements RunService, RunServiceLog {
  readonly calls: RunServiceCall[] = [];
  readonly started: StartRunRequest[] = [];
  readonly cancelled: RunRef[] = [];

  constructor(private readonly inner: RunService) {}

  async start(request: StartRunRequest): Promise<StartedRun> {
    this.calls.push({ method: 'start', request: structuredClone(request) });
    const started = await this.inner.start(request);
    if (!started.replayed) this.started.push(structuredClone(request));
    return started;
  }

  async status(ref: RunRef) {
    this.calls.push({ method: 'status', ref: { ...ref } });
    return this.inner.status(ref);
  }

  async cancel(ref: RunRef) {
    this.calls.push({ method: 'cancel', ref: { ...ref } });
    const body = await this.inner.cancel(ref);
    this.cancelled.push({ ...ref });
    return body;
  }

  async list(request: ListRunsRequest) {
    this.calls.push({ method: 'list', request: { ...request } });
    return this.inner.list(request);
  }

  async pause(ref: RunRef) {
    this.calls.push({ method: 'pause', ref: { ...ref } });
    return this.inner.pause(ref);
  }

  async resume(ref: RunRef) {
    this.calls.push({ method: 'resume', ref: { ...ref } });
    return this.inner.resume(ref);
  }

  async webhooks(orgId: string) {
    this.calls.push({ method: 'webhooks', orgId });
    return this.inner.webhooks(orgId);
  }

  ready(): Promise<boolean> {
    return this.inner.ready();
  }

  /** Leaves the inner service open: several recorders may share one connection, closed by its owner. */
  async close(): Promise<void> {}
}
