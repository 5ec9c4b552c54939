import { createHash, randomUUID } from 'node:crypto';
import {
  BULK_ADD_KEYS_WORKFLOW,
  LOCK_ID_SEARCH_ATTRIBUTE,
  MEMO_ORG_ID,
  MEMO_REQUEST_HASH,
  progressQuery,
  summarize,
  type BulkAddKeysInput,
  type BulkAddKeysProgress,
  type KeyProgress,
  type RunStatus,
  type RunStatusBody,
} from '@lockkeys/contracts';
import {
  Client,
  Connection,
  defaultGrpcRetryOptions,
  isGrpcServiceError,
  makeGrpcRetryInterceptor,
  WorkflowNotFoundError,
  type WorkflowExecutionDescription,
  type WorkflowHandle,
} from '@temporalio/client';
import {
  defineSearchAttributeKey,
  SearchAttributeType,
  TypedSearchAttributes,
  WorkflowExecutionAlreadyStartedError,
} from '@temporalio/common';
import type { GatewayConfig } from './config';
import {
  IdempotencyConflictError,
  RunAlreadyClosedError,
  RunNotFoundError,
  TemporalUnavailableError,
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
  /** Bound of a progress query; a run whose worker does not answer in time is reported from its input. */
  queryDeadlineMs?: number;
  /**
   * gRPC attempts per call while Temporal is unreachable (default 6, about 3 s of back-off). The
   * client's retry back-off ignores deadlines, so this, not the deadline, bounds how long a caller waits.
   */
  grpcMaxAttempts?: number;
}

/** gRPC codes that mean "the server is not reachable or not answering", not "the request is wrong". */
const UNAVAILABLE_GRPC_CODES = new Set([
  1, // CANCELLED (channel closed under the call)
  4, // DEADLINE_EXCEEDED
  8, // RESOURCE_EXHAUSTED
  14, // UNAVAILABLE
]);

const lockIdSearchAttribute = defineSearchAttributeKey(LOCK_ID_SEARCH_ATTRIBUTE, SearchAttributeType.INT);

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

const CLOSED_STATUS: Record<string, RunStatus> = {
  COMPLETED: 'complete',
  FAILED: 'errored',
  TIMED_OUT: 'errored',
  CANCELLED: 'cancelled',
  TERMINATED: 'terminated',
};

/**
 * The real {@link RunService}: one lazy `Connection` and one `Client` for the process. The connection is
 * opened on first use and re-opened by gRPC after failures, so the gateway starts (and reports not ready)
 * while Temporal is still down. Its options come from the config as they are (TLS files were read there).
 */
export function createTemporalRunService(
  config: { temporal: Pick<GatewayConfig['temporal'], 'connectionOptions' | 'namespace' | 'taskQueue'> },
  options: TemporalRunServiceOptions = {},
): RunService {
  const { namespace, taskQueue } = config.temporal;
  const deadlineMs = options.startDeadlineMs ?? 10_000;
  const readyDeadlineMs = options.readyDeadlineMs ?? 2_000;
  const queryDeadlineMs = options.queryDeadlineMs ?? 5_000;
  const connection = Connection.lazy({
    ...config.temporal.connectionOptions,
    interceptors: [makeGrpcRetryInterceptor(defaultGrpcRetryOptions({ maxAttempts: options.grpcMaxAttempts ?? 6 }))],
  });
  const client = new Client({ connection, namespace });
  const call = <T>(fn: () => Promise<T>, ms = deadlineMs) =>
    temporalCall(() => connection.withDeadline(Date.now() + ms, fn));

  /** The run if it exists, is a bulkAddKeys run, and belongs to this organization and lock. */
  async function describeOwned(
    ref: RunRef,
  ): Promise<{ handle: WorkflowHandle; description: WorkflowExecutionDescription }> {
    const handle = client.workflow.getHandle(ref.instanceId);
    const description = await call(() => handle.describe()).catch((error: unknown) => {
      if (error instanceof WorkflowNotFoundError) throw new RunNotFoundError(`no run ${ref.instanceId}`);
      throw error;
    });
    const owned =
      description.type === BULK_ADD_KEYS_WORKFLOW &&
      description.memo?.[MEMO_ORG_ID] === ref.orgId &&
      description.typedSearchAttributes.get(lockIdSearchAttribute) === ref.lockId;
    if (!owned) throw new RunNotFoundError(`no run ${ref.instanceId} for org ${ref.orgId} on lock ${ref.lockId}`);
    return { handle, description };
  }

  /** Per-key progress: the result of a completed run, else the workflow's own query (replayed for a closed run). */
  async function progressOf(
    handle: WorkflowHandle,
    description: WorkflowExecutionDescription,
  ): Promise<BulkAddKeysProgress | undefined> {
    if (description.status.name === 'COMPLETED') return (await call(() => handle.result())) as BulkAddKeysProgress;
    // Before its first workflow task a run cannot answer a query: it is queued.
    if (description.status.name === 'RUNNING' && description.historyLength <= 3) return undefined;
    try {
      return await connection.withDeadline(Date.now() + queryDeadlineMs, () => handle.query(progressQuery));
    } catch {
      return undefined; // no worker answered: report what the history's input says
    }
  }

  /** Keys of a run that could not be queried, all `pending`, from its start event. */
  async function keysFromInput(handle: WorkflowHandle): Promise<KeyProgress[]> {
    const history = await call(() => handle.fetchHistory());
    const payloads = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads ?? [];
    const [input] = payloads.map((p) => client.options.loadedDataConverter.payloadConverter.fromPayload(p)) as [
      BulkAddKeysInput | undefined,
    ];
    return (input?.keys ?? []).map((key) => ({ ...key, status: 'pending', attempts: 0, error: null }));
  }

  async function statusBody(
    ref: RunRef,
    handle: WorkflowHandle,
    description: WorkflowExecutionDescription,
  ): Promise<RunStatusBody> {
    const progress = await progressOf(handle, description);
    const keys = progress?.keys ?? (await keysFromInput(handle));
    const temporalStatus = description.status.name;
    const status: RunStatus =
      temporalStatus === 'RUNNING' || temporalStatus === 'CONTINUED_AS_NEW' || temporalStatus === 'PAUSED'
        ? progress === undefined || progress.phase === 'waitingForLock'
          ? 'queued'
          : 'running'
        : (CLOSED_STATUS[temporalStatus] ?? 'errored');
    return {
      instanceId: ref.instanceId,
      lockId: ref.lockId,
      status,
      createdAt: progress?.createdAt ?? description.startTime.toISOString(),
      closedAt: description.closeTime?.toISOString() ?? null,
      summary: summarize(keys),
      keys: keys.map(({ keyUuid, keyIndexNumber, userId, status: keyStatus, attempts, error }) => ({
        keyUuid,
        keyIndexNumber,
        userId,
        status: keyStatus,
        attempts,
        error,
      })),
    };
  }

  return {
    async start({ input, idempotencyKey }) {
      const hash = requestHash(input);
      const options = {
        taskQueue,
        args: [input] as [BulkAddKeysInput],
        typedSearchAttributes: new TypedSearchAttributes([{ key: lockIdSearchAttribute, value: input.lockId }]),
        staticSummary: `Add ${input.keys.length} key${input.keys.length === 1 ? '' : 's'} to lock ${input.lockId} for org ${input.orgId}`,
        staticDetails: describeKeys(input),
      };
      if (idempotencyKey === undefined) {
        const workflowId = newInstanceId(input.lockId);
        await call(() =>
          client.workflow.start(BULK_ADD_KEYS_WORKFLOW, {
            ...options,
            workflowId,
            memo: { [MEMO_ORG_ID]: input.orgId, [MEMO_REQUEST_HASH]: hash },
          }),
        );
        return { instanceId: workflowId, replayed: false };
      }

      const workflowId = idempotentInstanceId(input.orgId, input.lockId, idempotencyKey);
      // The nonce tells this request's start apart from an earlier one's when Temporal hands back the existing run.
      const nonce = randomUUID();
      try {
        await call(() =>
          client.workflow.start(BULK_ADD_KEYS_WORKFLOW, {
            ...options,
            workflowId,
            workflowIdConflictPolicy: 'USE_EXISTING',
            workflowIdReusePolicy: 'REJECT_DUPLICATE',
            memo: { [MEMO_ORG_ID]: input.orgId, [MEMO_REQUEST_HASH]: hash, startNonce: nonce },
          }),
        );
      } catch (error) {
        // A closed run with this ID: the first request finished already; fall through to compare with it.
        if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
      }
      const { memo } = await call(() => client.workflow.getHandle(workflowId).describe());
      if (memo?.[MEMO_REQUEST_HASH] !== hash) {
        throw new IdempotencyConflictError('Idempotency-Key was used before with a different request');
      }
      return { instanceId: workflowId, replayed: memo?.startNonce !== nonce };
    },

    async status(ref) {
      const { handle, description } = await describeOwned(ref);
      return statusBody(ref, handle, description);
    },

    async cancel(ref) {
      const { handle, description } = await describeOwned(ref);
      if (description.status.name !== 'RUNNING') throw new RunAlreadyClosedError(`run ${ref.instanceId} has closed`);
      await call(() => handle.cancel());
      return statusBody(ref, handle, await call(() => handle.describe()));
    },

    async ready() {
      try {
        // describeNamespace is cheap and also proves the namespace exists, which every start needs.
        await connection.withDeadline(Date.now() + readyDeadlineMs, () =>
          connection.workflowService.describeNamespace({ namespace }),
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
    if (isGrpcServiceError(current)) return UNAVAILABLE_GRPC_CODES.has(current.code);
    current = current.cause;
  }
  return false;
}
