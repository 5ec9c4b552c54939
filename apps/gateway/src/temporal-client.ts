import { isTemporalUnavailable } from '@lockkeys/admission';
import { taskQueues, type TaskQueues } from '@lockkeys/contracts';
import { Client, Connection, defaultGrpcRetryOptions, makeGrpcRetryInterceptor } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import type { GatewayConfig } from './config';
import { TemporalUnavailableError } from './runs';

/** Deadlines of the Temporal-backed run service; the defaults suit production. */
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

/** What the gateway's Temporal config must hold. */
export type TemporalServiceConfig = Pick<GatewayConfig, 'limits' | 'webhooks'> & {
  temporal: Pick<GatewayConfig['temporal'], 'connectionOptions' | 'namespace' | 'taskQueue'>;
  jwt: Pick<GatewayConfig['jwt'], 'key'>;
};

/** The process's one connection and client, and the way every call to Temporal is made. */
export interface TemporalSession {
  connection: Connection;
  client: Client;
  namespace: string;
  taskQueues: TaskQueues;
  /** A Temporal call within `ms` (default: the start deadline); unreachable Temporal → {@link TemporalUnavailableError}. */
  call<T>(fn: () => Promise<T>, ms?: number): Promise<T>;
  /** A payload as the value it holds (the client's data converter). */
  decode(payload: temporal.api.common.v1.IPayload): unknown;
  queryDeadlineMs: number;
  readyDeadlineMs: number;
}

/**
 * One lazy `Connection` and one `Client` for the process. The connection is opened on first use and re-opened by
 * gRPC after failures, so the gateway starts (and reports not ready) while Temporal is still down. Its options come
 * from the config as they are (TLS files were read there).
 */
export function openTemporalSession(
  config: TemporalServiceConfig,
  options: TemporalRunServiceOptions = {},
): TemporalSession {
  const deadlineMs = options.startDeadlineMs ?? 10_000;
  const connection = Connection.lazy({
    ...config.temporal.connectionOptions,
    interceptors: [makeGrpcRetryInterceptor(defaultGrpcRetryOptions({ maxAttempts: options.grpcMaxAttempts ?? 6 }))],
  });
  const client = new Client({ connection, namespace: config.temporal.namespace });
  const { payloadConverter } = client.options.loadedDataConverter;
  return {
    connection,
    client,
    namespace: config.temporal.namespace,
    taskQueues: taskQueues(config.temporal.taskQueue),
    call: (fn, ms = deadlineMs) => temporalCall(() => connection.withDeadline(Date.now() + ms, fn)),
    decode: (payload) => payloadConverter.fromPayload(payload),
    queryDeadlineMs: options.queryDeadlineMs ?? 1_000,
    readyDeadlineMs: options.readyDeadlineMs ?? 2_000,
  };
}

/** Runs a Temporal call; "cannot reach Temporal" becomes {@link TemporalUnavailableError}, everything else passes. */
export async function temporalCall<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (isTemporalUnavailable(error)) throw new TemporalUnavailableError('Temporal is unreachable', { cause: error });
    throw error;
  }
}
