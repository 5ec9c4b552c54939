/** The lockkeys HTTP gateway: authenticates callers, validates requests and starts `bulkAddKeys` runs. */
export { createApp, type AppDependencies } from './app';
export {
  ConfigError,
  DEV_API_KEY,
  DEV_JWT_SECRET,
  DEV_ORG_ID,
  type GatewayConfig,
  loadConfig,
  type LogLevel,
} from './config';
export {
  type ApiKeyRecord,
  type Authenticator,
  createAuthenticator,
  parseApiKeysFile,
  type Principal,
  sha256Hex,
} from './auth';
export {
  BadRequestError,
  ForbiddenError,
  HttpError,
  NotFoundError,
  PayloadTooLargeError,
  ServiceUnavailableError,
  UnauthorizedError,
  UnsupportedMediaTypeError,
} from './errors';
export {
  createTemporalWorkflowStarter,
  newInstanceId,
  TemporalUnavailableError,
  type TemporalStarterOptions,
  type WorkflowStarter,
} from './temporal';
