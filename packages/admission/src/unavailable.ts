import { isGrpcServiceError, WorkflowUpdateRPCTimeoutOrCancelledError } from '@temporalio/client';
import { NamespaceNotFoundError } from '@temporalio/common';

/** gRPC codes that mean "the server is not reachable or not answering", not "the request is wrong". */
const UNAVAILABLE_GRPC_CODES = new Set([
  1, // CANCELLED (channel closed under the call)
  4, // DEADLINE_EXCEEDED
  8, // RESOURCE_EXHAUSTED
  10, // ABORTED (a multi-operation whose other operation failed, a conflict to retry)
  14, // UNAVAILABLE
]);

/**
 * gRPC NOT_FOUND for the namespace itself: what the server says when it cannot read the namespace. The name may be in
 * the message or the details (a multi-operation such as update-with-start puts binary details there).
 */
const namespaceNotFound = (error: { code?: number; details?: string; message: string }) =>
  error.code === 5 && /namespace .* not found/i.test(`${error.message} ${error.details ?? ''}`);

/**
 * True when `error` says Temporal cannot be reached (down, overloaded, too slow, or unable to read its own
 * namespace while its database is down) rather than that the request is wrong. Looks a few levels down the cause
 * chain, where the client wraps gRPC errors.
 */
export function isTemporalUnavailable(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    // While its database is down, the server cannot read the namespace and says it does not exist: an outage (the
    // configured namespace is checked at readiness), never a request to refuse as a bug.
    if (current instanceof NamespaceNotFoundError || current instanceof WorkflowUpdateRPCTimeoutOrCancelledError) {
      return true;
    }
    if (isGrpcServiceError(current)) return UNAVAILABLE_GRPC_CODES.has(current.code) || namespaceNotFound(current);
    current = current.cause;
  }
  return false;
}
