/** The lockkeys HTTP gateway: authenticates callers, validates requests and starts `bulkAddKeys` runs. */
export { createApp, type AppDependencies } from './app';
export { ConfigError, type GatewayConfig, loadConfig, type LogLevel } from './config';
export {
  type ApiKeyRecord,
  type Authenticator,
  createAuthenticator,
  JWT_ALGORITHMS,
  type JwtAlgorithm,
  jwtPublicKey,
  jwtSecretKey,
  parseApiKeysFile,
  type Principal,
  sha256Hex,
} from './auth';
export { createApiKey, type NewApiKey } from './apikey';
export { createGatewayServer, SERVER_TIMEOUTS } from './server';
export { createGatewayMetrics, type GatewayMetrics } from './metrics';
export { createOpenApiDocument, type OpenApiDocument } from './openapi';
export { servedRoutes, type ServedRoute, toOpenApiPath, UNMATCHED_ROUTE } from './routes';
export {
  AUTH_FAILURE_REASONS,
  type AuthFailureReason,
  BadRequestError,
  ConflictError,
  ForbiddenError,
  HttpError,
  NotFoundError,
  PayloadTooLargeError,
  RUN_NOT_FOUND_MESSAGE,
  ServiceUnavailableError,
  TooManyRequestsError,
  UnauthorizedError,
  UnsupportedMediaTypeError,
} from './errors';
export {
  IdempotencyConflictError,
  RunAlreadyClosedError,
  RunNotFoundError,
  type RunRef,
  type RunService,
  type StartedRun,
  type StartRunRequest,
  TemporalUnavailableError,
} from './runs';
export { createTemporalRunService, newInstanceId, type TemporalRunServiceOptions } from './temporal';
