import { randomUUID } from 'node:crypto';
import { BULK_ADD_KEYS_WORKFLOW, type BulkAddKeysInput, LOCK_ID_SEARCH_ATTRIBUTE } from '@lockkeys/contracts';
import {
  Client,
  Connection,
  defaultGrpcRetryOptions,
  isGrpcServiceError,
  makeGrpcRetryInterceptor,
} from '@temporalio/client';
import { defineSearchAttributeKey, SearchAttributeType, TypedSearchAttributes } from '@temporalio/common';
import type { GatewayConfig } from './config';

/** Starts `bulkAddKeys` runs; the gateway's only view of Temporal (tests pass a fake). */
export interface WorkflowStarter {
  /**
   * Starts one run and resolves to its instanceId (= workflow ID). Throws {@link TemporalUnavailableError}
   * when Temporal cannot be reached.
   */
  start(input: BulkAddKeysInput): Promise<string>;
  /** True when Temporal answers and knows the namespace; never throws. */
  ready(): Promise<boolean>;
  /** Releases the connection; call once, at shutdown. */
  close(): Promise<void>;
}

/** Temporal could not be reached (down, overloaded, or too slow to answer). */
export class TemporalUnavailableError extends Error {
  override name = 'TemporalUnavailableError';
}

/** Deadlines of {@link createTemporalWorkflowStarter}; the defaults suit production. */
export interface TemporalStarterOptions {
  /** Bound of one start call, gRPC retries included (default 10 000 ms). */
  startDeadlineMs?: number;
  /** Bound of one readiness probe (default 2 000 ms). */
  readyDeadlineMs?: number;
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
 * The real {@link WorkflowStarter}: one lazy `Connection` and one `Client` for the process. The
 * connection is opened on first use and re-opened by gRPC after failures, so the gateway starts
 * (and reports not-ready) while Temporal is still down.
 */
export function createTemporalWorkflowStarter(
  config: Pick<GatewayConfig, 'temporal'>,
  options: TemporalStarterOptions = {},
): WorkflowStarter {
  const { address, namespace, taskQueue } = config.temporal;
  const startDeadlineMs = options.startDeadlineMs ?? 10_000;
  const readyDeadlineMs = options.readyDeadlineMs ?? 2_000;
  const connection = Connection.lazy({
    address,
    interceptors: [makeGrpcRetryInterceptor(defaultGrpcRetryOptions({ maxAttempts: options.grpcMaxAttempts ?? 6 }))],
  });
  const client = new Client({ connection, namespace });

  return {
    async start(input) {
      const workflowId = newInstanceId(input.lockId);
      try {
        await connection.withDeadline(Date.now() + startDeadlineMs, () =>
          client.workflow.start(BULK_ADD_KEYS_WORKFLOW, {
            taskQueue,
            workflowId,
            args: [input],
            typedSearchAttributes: new TypedSearchAttributes([{ key: lockIdSearchAttribute, value: input.lockId }]),
            memo: { orgId: input.orgId },
          }),
        );
      } catch (err) {
        if (isUnavailable(err)) throw new TemporalUnavailableError('Temporal is unreachable', { cause: err });
        throw err;
      }
      return workflowId;
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

function isUnavailable(err: unknown): boolean {
  // The client wraps gRPC errors (ServiceError { cause }); look a few levels down the cause chain.
  let current: unknown = err;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    if (isGrpcServiceError(current)) return UNAVAILABLE_GRPC_CODES.has(current.code);
    current = current.cause;
  }
  return false;
}
