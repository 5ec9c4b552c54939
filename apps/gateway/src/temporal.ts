import { createHash, randomUUID } from 'node:crypto';
import {
  BULK_ADD_KEYS_WORKFLOW,
  CLOSED_RUN_STATUSES,
  keyOutcomes,
  LOCK_ID_KEY,
  LOCK_ID_SEARCH_ATTRIBUTE,
  MEMO_CREATED_AT,
  MEMO_ORG_ID,
  MEMO_REQUEST_HASH,
  MEMO_SUMMARY,
  ORG_ID_KEY,
  ORG_ID_SEARCH_ATTRIBUTE,
  pauseSignal,
  progressQuery,
  resumeSignal,
  summarize,
  type BulkAddKeysInput,
  type BulkAddKeysProgress,
  type BulkAddKeysWorkflow,
  type RunListItem,
  type RunStatus,
  type RunStatusBody,
  type RunSummary,
} from '@lockkeys/contracts';
import {
  Client,
  Connection,
  defaultGrpcRetryOptions,
  isGrpcServiceError,
  makeGrpcRetryInterceptor,
  WorkflowNotFoundError,
  type WorkflowHandle,
} from '@temporalio/client';
import {
  NamespaceNotFoundError,
  TypedSearchAttributes,
  WorkflowExecutionAlreadyStartedError,
} from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import type { GatewayConfig } from './config';
import { ListingCursors, type ListingPosition, type ListingScope } from './cursor';
import { progressFromHistory, timestampOf } from './run-history';
import {
  IdempotencyConflictError,
  RunAlreadyClosedError,
  RunNotFoundError,
  TemporalUnavailableError,
  TooManyActiveRunsError,
  type RunAction,
  type RunRef,
  type RunService,
} from './runs';

export { TemporalUnavailableError } from './runs';

/** Deadlines of {@link createTemporalRunService}; the defaults suit production. */
export interface TemporalRunServiceOptions {
  /** Bound of one call to Temporal, gRPC retries included (default 10 000 ms). */
  startDeadlineMs?: number;
  /** Bound of one readiness probe (default 2 000 ms). */
  readyDeadlineMs?: number;
  /** Bound of a progress query; a run whose worker does not answer in time is read from its history (default 1 000 ms). */
  queryDeadlineMs?: number;
  /**
   * gRPC attempts per call while Temporal is unreachable (default 6, about 3 s of back-off). The
   * client's retry back-off ignores deadlines, so this, not the deadline, bounds how long a caller waits.
   */
  grpcMaxAttempts?: number;
}

/** gRPC NOT_FOUND for the namespace itself: what the server says when it cannot read the namespace. */
const namespaceNotFound = (error: { code?: number; details?: string; message: string }) =>
  error.code === 5 && /namespace/i.test(error.details ?? error.message);

/** gRPC codes that mean "the server is not reachable or not answering", not "the request is wrong". */
const UNAVAILABLE_GRPC_CODES = new Set([
  1, // CANCELLED (channel closed under the call)
  4, // DEADLINE_EXCEEDED
  8, // RESOURCE_EXHAUSTED
  14, // UNAVAILABLE
]);

/** How long a client whose lock is full should wait: about one short run's time (SPEC leaves it to us). */
const FULL_LOCK_RETRY_AFTER_SECONDS = 60;

/** A fresh workflow ID for a run on `lockId`: URL-safe, so it doubles as the instanceId in URLs. */
export function newInstanceId(lockId: number): string {
  return `lock-${lockId}-${randomUUID()}`;
}

/**
 * The workflow ID of an idempotent request: the same organization, lock and Idempotency-Key always map to
 * the same ID, so Temporal's workflow-ID uniqueness (not a side table) makes the start happen once.
 */
export function idempotentInstanceId(orgId: string, lockId: number, idempotencyKey: string): string {
  const digest = createHash('sha256').update(`${orgId}\n${lockId}\n${idempotencyKey}`).digest('base64url');
  return `lock-${lockId}-idem-${digest.slice(0, 32)}`;
}

/** What makes two requests "the same body": the lock and the keys, in order. */
export function requestHash(input: Pick<BulkAddKeysInput, 'lockId' | 'keys'>): string {
  const canonical = JSON.stringify([input.lockId, input.keys.map((k) => [k.keyUuid, k.keyIndexNumber, k.userId])]);
  return createHash('sha256').update(canonical).digest('hex');
}

const { WorkflowExecutionStatus } = temporal.api.enums.v1;
const CLOSED_STATUS: Partial<Record<number, RunStatus>> = {
  [WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_COMPLETED]: 'complete',
  [WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_FAILED]: 'errored',
  [WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_TIMED_OUT]: 'errored',
  [WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_CANCELED]: 'cancelled',
  [WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_TERMINATED]: 'terminated',
};
const RUNNING = WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING;

/** The visibility clause of a closed status filter. */
const CLOSED_FILTER: Record<string, string> = {
  complete: "ExecutionStatus = 'Completed'",
  cancelled: "ExecutionStatus = 'Canceled'",
  terminated: "ExecutionStatus = 'Terminated'",
  errored: "(ExecutionStatus = 'Failed' OR ExecutionStatus = 'TimedOut')",
};

/** What one run looks like in visibility (a listing entry or a describe), as this service needs it. */
interface RunRecord {
  instanceId: string;
  lockId: number;
  status: number;
  startTime: Date;
  closeTime: Date | undefined;
  memo: Record<string, unknown>;
}

const quoted = (text: string) => `'${text.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;

/**
 * The real {@link RunService}: one lazy `Connection` and one `Client` for the process. The connection is
 * opened on first use and re-opened by gRPC after failures, so the gateway starts (and reports not ready)
 * while Temporal is still down. Its options come from the config as they are (TLS files were read there).
 */
export function createTemporalRunService(
  config: Pick<GatewayConfig, 'limits'> & {
    temporal: Pick<GatewayConfig['temporal'], 'connectionOptions' | 'namespace' | 'taskQueue'>;
    jwt: Pick<GatewayConfig['jwt'], 'key'>;
  },
  options: TemporalRunServiceOptions = {},
): RunService {
  const { namespace, taskQueue } = config.temporal;
  const deadlineMs = options.startDeadlineMs ?? 10_000;
  const readyDeadlineMs = options.readyDeadlineMs ?? 2_000;
  const queryDeadlineMs = options.queryDeadlineMs ?? 1_000;
  const connection = Connection.lazy({
    ...config.temporal.connectionOptions,
    interceptors: [makeGrpcRetryInterceptor(defaultGrpcRetryOptions({ maxAttempts: options.grpcMaxAttempts ?? 6 }))],
  });
  const client = new Client({ connection, namespace });
  const { payloadConverter } = client.options.loadedDataConverter;
  const decode = (payload: temporal.api.common.v1.IPayload) => payloadConverter.fromPayload(payload);
  const cursors = new ListingCursors(config.jwt.key);
  const call = <T>(fn: () => Promise<T>, ms = deadlineMs) =>
    temporalCall(() => connection.withDeadline(Date.now() + ms, fn));

  /** The run if it exists, is a bulkAddKeys run, and belongs to this organization and lock. */
  async function describeOwned(ref: RunRef): Promise<{ handle: WorkflowHandle<BulkAddKeysWorkflow>; run: RunRecord }> {
    const handle = client.workflow.getHandle<BulkAddKeysWorkflow>(ref.instanceId);
    const description = await call(() => handle.describe()).catch((error: unknown) => {
      if (error instanceof WorkflowNotFoundError) throw new RunNotFoundError(`no run ${ref.instanceId}`);
      throw error;
    });
    const owned =
      description.type === BULK_ADD_KEYS_WORKFLOW &&
      description.memo?.[MEMO_ORG_ID] === ref.orgId &&
      description.typedSearchAttributes.get(LOCK_ID_KEY) === ref.lockId;
    if (!owned) throw new RunNotFoundError(`no run ${ref.instanceId} for org ${ref.orgId} on lock ${ref.lockId}`);
    const run: RunRecord = {
      instanceId: ref.instanceId,
      lockId: ref.lockId,
      status: description.raw.workflowExecutionInfo?.status ?? RUNNING,
      startTime: description.startTime,
      closeTime: description.closeTime,
      memo: description.memo ?? {},
    };
    return { handle, run };
  }

  /**
   * Per-key progress: a completed run's result; an open run's own query, answered by a worker; otherwise (no
   * worker answered in time, or the run closed otherwise) rebuilt from the run's history, never from its request.
   */
  async function progressOf(handle: WorkflowHandle<BulkAddKeysWorkflow>, run: RunRecord): Promise<BulkAddKeysProgress> {
    if (run.status === WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_COMPLETED) {
      return call(() => handle.result());
    }
    if (run.status === RUNNING) {
      try {
        return await connection.withDeadline(Date.now() + queryDeadlineMs, () => handle.query(progressQuery));
      } catch {
        // no worker answered: the history tells
      }
    }
    const history = await call(() => handle.fetchHistory());
    return progressFromHistory(history.events ?? [], decode);
  }

  function statusOf(run: RunRecord, progress: Pick<BulkAddKeysProgress, 'phase'>): RunStatus {
    if (run.status !== RUNNING) return CLOSED_STATUS[run.status] ?? 'errored';
    return progress.phase === 'paused' ? 'paused' : progress.phase === 'queued' ? 'queued' : 'running';
  }

  const createdAtOf = (run: RunRecord, progress?: { createdAt: string }) =>
    typeof run.memo[MEMO_CREATED_AT] === 'string'
      ? (run.memo[MEMO_CREATED_AT] as string)
      : (progress?.createdAt ?? run.startTime.toISOString());

  async function statusBody(handle: WorkflowHandle<BulkAddKeysWorkflow>, run: RunRecord): Promise<RunStatusBody> {
    const progress = await progressOf(handle, run);
    return {
      instanceId: run.instanceId,
      lockId: run.lockId,
      status: statusOf(run, progress),
      createdAt: createdAtOf(run, progress),
      closedAt: run.closeTime?.toISOString() ?? null,
      summary: summarize(progress.keys),
      keys: keyOutcomes(progress.keys),
    };
  }

  /** A listing entry: closed runs from visibility alone (their summary is in the memo), open ones as they stand. */
  async function listItem(run: RunRecord): Promise<RunListItem> {
    const summary = run.memo[MEMO_SUMMARY] as RunSummary | undefined;
    if (run.status !== RUNNING && summary !== undefined) {
      return {
        instanceId: run.instanceId,
        lockId: run.lockId,
        status: CLOSED_STATUS[run.status] ?? 'errored',
        createdAt: createdAtOf(run),
        closedAt: run.closeTime?.toISOString() ?? null,
        summary,
      };
    }
    const { keys: _keys, ...item } = await statusBody(
      client.workflow.getHandle<BulkAddKeysWorkflow>(run.instanceId),
      run,
    );
    return item;
  }

  /** One page of visibility, newest first as Temporal orders it (open runs, then by closing time). */
  async function visibilityPage(query: string, pageSize: number, token?: string) {
    const response = await call(() =>
      connection.workflowService.listWorkflowExecutions({
        namespace,
        query,
        pageSize,
        ...(token !== undefined && { nextPageToken: Buffer.from(token, 'base64url') }),
      }),
    );
    const runs: RunRecord[] = (response.executions ?? []).map((execution) => ({
      instanceId: execution.execution?.workflowId ?? '',
      lockId: 0,
      status: execution.status ?? RUNNING,
      startTime: timestampOf(execution.startTime) ?? new Date(0),
      closeTime: timestampOf(execution.closeTime),
      memo: Object.fromEntries(
        Object.entries(execution.memo?.fields ?? {}).map(([name, payload]) => [name, decode(payload)]),
      ),
    }));
    const next = response.nextPageToken?.length ? Buffer.from(response.nextPageToken).toString('base64url') : undefined;
    return { runs, next };
  }

  async function openRuns(scopeQuery: string): Promise<RunRecord[]> {
    const runs: RunRecord[] = [];
    let token: string | undefined;
    do {
      const page = await visibilityPage(`${scopeQuery} AND ExecutionStatus = 'Running'`, 100, token);
      runs.push(...page.runs);
      token = page.next;
    } while (token !== undefined && runs.length < 10_000);
    return runs;
  }

  async function admit(lockId: number): Promise<void> {
    const limit = config.limits.maxActiveRunsPerLock;
    const { count } = await call(() =>
      client.workflow.count(
        `WorkflowType = '${BULK_ADD_KEYS_WORKFLOW}' AND ${LOCK_ID_SEARCH_ATTRIBUTE} = ${lockId} AND ExecutionStatus = 'Running'`,
      ),
    );
    if (count >= limit) throw new TooManyActiveRunsError(lockId, limit, FULL_LOCK_RETRY_AFTER_SECONDS);
  }

  async function openOwned(ref: RunRef, action: RunAction) {
    const owned = await describeOwned(ref);
    if (owned.run.status !== RUNNING) throw new RunAlreadyClosedError(action, `run ${ref.instanceId} has closed`);
    return owned;
  }

  return {
    async start({ input, idempotencyKey }) {
      const hash = requestHash(input);
      const workflowId =
        idempotencyKey === undefined
          ? newInstanceId(input.lockId)
          : idempotentInstanceId(input.orgId, input.lockId, idempotencyKey);
      const existing = async () => {
        const { memo } = await call(() => client.workflow.getHandle(workflowId).describe());
        if (memo?.[MEMO_REQUEST_HASH] !== hash) {
          throw new IdempotencyConflictError('Idempotency-Key was used before with a different request');
        }
        return memo;
      };
      if (idempotencyKey !== undefined) {
        // A replay finds the earlier run and starts nothing, however full the lock is now.
        const earlier = await existing().catch((error: unknown) => {
          if (error instanceof WorkflowNotFoundError) return undefined;
          throw error;
        });
        if (earlier !== undefined) return { instanceId: workflowId, replayed: true };
      }
      await admit(input.lockId);

      // The nonce tells this request's start apart from a concurrent one's when Temporal hands back the existing run.
      const nonce = randomUUID();
      try {
        await call(() =>
          client.workflow.start<BulkAddKeysWorkflow>(BULK_ADD_KEYS_WORKFLOW, {
            taskQueue,
            workflowId,
            args: [input],
            typedSearchAttributes: new TypedSearchAttributes([
              { key: LOCK_ID_KEY, value: input.lockId },
              { key: ORG_ID_KEY, value: input.orgId },
            ]),
            memo: {
              [MEMO_ORG_ID]: input.orgId,
              [MEMO_REQUEST_HASH]: hash,
              [MEMO_CREATED_AT]: new Date().toISOString(),
              ...(idempotencyKey !== undefined && { startNonce: nonce }),
            },
            staticSummary: `Add ${input.keys.length} key${input.keys.length === 1 ? '' : 's'} to lock ${input.lockId} for org ${input.orgId}`,
            staticDetails: describeKeys(input),
            ...(idempotencyKey !== undefined && {
              workflowIdConflictPolicy: 'USE_EXISTING',
              workflowIdReusePolicy: 'REJECT_DUPLICATE',
            }),
          }),
        );
      } catch (error) {
        // A closed run with this ID: the first request finished in between; compare with it below.
        if (!(error instanceof WorkflowExecutionAlreadyStartedError) || idempotencyKey === undefined) throw error;
      }
      if (idempotencyKey === undefined) return { instanceId: workflowId, replayed: false };
      const memo = await existing();
      return { instanceId: workflowId, replayed: memo?.startNonce !== nonce };
    },

    async list({ lockId, orgId, status, limit, cursor }) {
      const scope: ListingScope = { orgId, lockId, status };
      const position: ListingPosition | undefined = cursor === undefined ? undefined : cursors.read(cursor, scope);
      const scopeQuery =
        `WorkflowType = '${BULK_ADD_KEYS_WORKFLOW}' AND ${LOCK_ID_SEARCH_ATTRIBUTE} = ${lockId} AND ` +
        `${ORG_ID_SEARCH_ATTRIBUTE} = ${quoted(orgId)} AND ExecutionStatus != 'ContinuedAsNew'`;
      const withLock = (run: RunRecord): RunRecord => ({ ...run, lockId });

      if (status === undefined || CLOSED_RUN_STATUSES.includes(status)) {
        const query = status === undefined ? scopeQuery : `${scopeQuery} AND ${CLOSED_FILTER[status]}`;
        const token = position !== undefined && 'token' in position ? position.token : undefined;
        const page = await visibilityPage(query, limit, token);
        // Visibility hands out a token after every full page, even the last: look before promising a next page.
        const more = page.next !== undefined && (await visibilityPage(query, 1, page.next)).runs.length > 0;
        return {
          runs: await Promise.all(page.runs.map((run) => listItem(withLock(run)))),
          nextCursor: more && page.next !== undefined ? cursors.write(scope, { token: page.next }) : null,
        };
      }
      // queued / running / paused are what open runs say of themselves: at most a lock's bound of them, read whole.
      const open = await openRuns(scopeQuery);
      const items = (await Promise.all(open.map((run) => listItem(withLock(run))))).filter((i) => i.status === status);
      const offset = position !== undefined && 'offset' in position ? position.offset : 0;
      return {
        runs: items.slice(offset, offset + limit),
        nextCursor: offset + limit < items.length ? cursors.write(scope, { offset: offset + limit }) : null,
      };
    },

    async status(ref) {
      const { handle, run } = await describeOwned(ref);
      return statusBody(handle, run);
    },

    async cancel(ref) {
      const { handle } = await openOwned(ref, 'cancel');
      await call(() => handle.cancel());
      return statusBody(handle, (await describeOwned(ref)).run);
    },

    async pause(ref) {
      const { handle, run } = await openOwned(ref, 'pause');
      await call(() => handle.signal(pauseSignal));
      return statusBody(handle, run);
    },

    async resume(ref) {
      const { handle, run } = await openOwned(ref, 'resume');
      await call(() => handle.signal(resumeSignal));
      return statusBody(handle, run);
    },

    async ready() {
      try {
        // One row of visibility: it proves the namespace exists and that the server reaches its database (the
        // frontend answers describeNamespace from its cache even while PostgreSQL is down).
        await connection.withDeadline(Date.now() + readyDeadlineMs, () =>
          connection.workflowService.listWorkflowExecutions({ namespace, pageSize: 1 }),
        );
        return true;
      } catch {
        return false;
      }
    },

    async close() {
      await connection.close();
    },
  };
}

/** The key list in short, for the run's static details in the Web UI. */
function describeKeys(input: BulkAddKeysInput): string {
  const shown = input.keys.slice(0, 20).map((k) => `- #${k.keyIndexNumber} ${k.keyUuid} (user ${k.userId})`);
  const more = input.keys.length > shown.length ? [`- … and ${input.keys.length - shown.length} more`] : [];
  return [`Keys for lock ${input.lockId}, requested by ${input.requestedBy}:`, ...shown, ...more].join('\n');
}

/** Runs a Temporal call; "cannot reach Temporal" becomes {@link TemporalUnavailableError}, everything else passes. */
async function temporalCall<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (isUnavailable(error)) throw new TemporalUnavailableError('Temporal is unreachable', { cause: error });
    throw error;
  }
}

function isUnavailable(err: unknown): boolean {
  // The client wraps gRPC errors (ServiceError { cause }); look a few levels down the cause chain.
  let current: unknown = err;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    // While its database is down, the server cannot read the namespace and says it does not exist: an outage
    // (the configured namespace is checked at readiness), never a request to refuse as a bug.
    if (current instanceof NamespaceNotFoundError) return true;
    if (isGrpcServiceError(current)) return UNAVAILABLE_GRPC_CODES.has(current.code) || namespaceNotFound(current);
    current = current.cause;
  }
  return false;
}
