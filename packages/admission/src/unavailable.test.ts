import { isTemporalUnavailable } from './unavailable';

/** gRPC status codes (grpc-js `status`). */
const status = { DEADLINE_EXCEEDED: 4, NOT_FOUND: 5, RESOURCE_EXHAUSTED: 8, INVALID_ARGUMENT: 3, UNAVAILABLE: 14 };

/** A gRPC service error as @grpc/grpc-js hands it over. */
const grpcError = (code: number, message: string, details = message) =>
  Object.assign(new Error(message), { code, details, metadata: {} });

test.each([
  ['unavailable', grpcError(status.UNAVAILABLE, 'connect ECONNREFUSED'), true],
  ['deadline exceeded', grpcError(status.DEADLINE_EXCEEDED, 'deadline'), true],
  ['throttled', grpcError(status.RESOURCE_EXHAUSTED, 'namespace rate limit exceeded'), true],
  ['the namespace unreadable (database down)', grpcError(status.NOT_FOUND, 'Namespace default is not found.'), true],
  [
    'the same from update-with-start: binary details',
    grpcError(status.NOT_FOUND, 'Namespace default is not found.', '\n\u0007default'),
    true,
  ],
  ['wrapped in a cause', new Error('call failed', { cause: grpcError(status.UNAVAILABLE, 'down') }), true],
  ['a workflow not found', grpcError(status.NOT_FOUND, 'workflow not found for ID: lock-1-x'), false],
  ['a bad request', grpcError(status.INVALID_ARGUMENT, 'search attribute LockId is not defined'), false],
  ['not a gRPC error', new TypeError('a bug'), false],
])('%s → %s', (_name, error, unavailable) => {
  expect(isTemporalUnavailable(error)).toBe(unavailable);
});
