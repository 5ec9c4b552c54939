import { STATUS_CODES } from 'node:http';
import { type ErrorBody, type ErrorDetail, HTTP_STATUS_TITLES, UNAUTHORIZED_BODY } from '@lockkeys/contracts';
import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { Logger } from 'pino';
import {
  IdempotencyConflictError,
  InvalidCursorError,
  RunAlreadyClosedError,
  RunNotFoundError,
  TemporalUnavailableError,
  TooManyActiveRunsError,
} from './runs';

/** An error that becomes SPEC's error body with its own status; its `message` is shown to the client. */
export class HttpError extends Error {
  override name = 'HttpError';

  readonly title: string;

  constructor(
    readonly status: number,
    message: string,
    readonly details?: ErrorDetail[],
    /** Headers the answer carries (`Allow`, `Retry-After`). */
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.title = HTTP_STATUS_TITLES[status as keyof typeof HTTP_STATUS_TITLES] ?? STATUS_CODES[status] ?? 'Error';
  }

  /** SPEC's `{ error, message, code, details? }`. */
  toBody(): ErrorBody {
    return {
      error: this.title,
      message: this.message,
      code: this.status,
      ...(this.details !== undefined && { details: this.details }),
    };
  }
}

/** 400: malformed JSON, schema violation, bad `lockId`. */
export class BadRequestError extends HttpError {
  override name = 'BadRequestError';
  constructor(message: string, details?: ErrorDetail[]) {
    super(400, message, details);
  }
}

/**
 * Why authentication failed, as a closed set: the `reason` label of `lockkeys_auth_failures_total` and the
 * `reasonCode` of the log line (bounded, unlike the free-text `reason`).
 */
export const AUTH_FAILURE_REASONS = [
  'missing_jwt',
  'malformed_authorization',
  'not_bearer',
  'malformed_jwt',
  'wrong_algorithm',
  'bad_signature',
  'expired',
  'not_yet_valid',
  'wrong_issuer',
  'wrong_audience',
  'invalid_claims',
  'invalid_jwt',
  'missing_api_key',
  'malformed_api_key',
  'unknown_api_key',
  'revoked_api_key',
] as const;
/** One of {@link AUTH_FAILURE_REASONS}. */
export type AuthFailureReason = (typeof AUTH_FAILURE_REASONS)[number];

/**
 * 401: every authentication failure gives the same body, so a caller cannot tell which credential
 * was wrong. `reason` (free text) and `reasonCode` (bounded) are for the server log and metrics only.
 */
export class UnauthorizedError extends HttpError {
  override name = 'UnauthorizedError';
  constructor(
    readonly reason: string,
    readonly reasonCode: AuthFailureReason,
  ) {
    super(401, UNAUTHORIZED_BODY.message, undefined, { 'WWW-Authenticate': 'Bearer realm="lockkeys"' });
  }
}

/** 403: authenticated, but not allowed to act on this lock. */
export class ForbiddenError extends HttpError {
  override name = 'ForbiddenError';
  constructor(message: string) {
    super(403, message);
  }
}

/** 404: unknown route. */
export class NotFoundError extends HttpError {
  override name = 'NotFoundError';
  constructor(message = 'The requested resource does not exist') {
    super(404, message);
  }
}

/** 404 message for a run that is unknown, malformed, or another organization's or lock's: all look alike. */
export const RUN_NOT_FOUND_MESSAGE = 'No such run for this lock';

/** 405: the path exists, the method does not; `Allow` lists the ones it serves. */
export class MethodNotAllowedError extends HttpError {
  override name = 'MethodNotAllowedError';
  constructor(method: string, allowed: readonly string[]) {
    super(405, `${method.slice(0, 16)} is not served here; this path serves ${allowed.join(', ')}`, undefined, {
      Allow: allowed.join(', '),
    });
  }
}

/** 409: Idempotency-Key reused with a different body; cancel, pause or resume of a closed run. */
export class ConflictError extends HttpError {
  override name = 'ConflictError';
  constructor(message: string) {
    super(409, message);
  }
}

/** 413: body over `MAX_BODY_BYTES`. */
export class PayloadTooLargeError extends HttpError {
  override name = 'PayloadTooLargeError';
  constructor(limitBytes: number) {
    // Close rather than drain the rest of an oversize upload.
    super(413, `Request body must be at most ${limitBytes} bytes`, undefined, { Connection: 'close' });
  }
}

/** 415: a body that is not `application/json` (or not UTF-8, or compressed). */
export class UnsupportedMediaTypeError extends HttpError {
  override name = 'UnsupportedMediaTypeError';
  constructor(message = 'Request body must be application/json') {
    super(415, message);
  }
}

/** 429: over the per-API-key rate limit, or a lock's queue is full; `Retry-After` says when to come back. */
export class TooManyRequestsError extends HttpError {
  override name = 'TooManyRequestsError';
  constructor(
    message = 'Rate limit exceeded for this API key; retry after the number of seconds in Retry-After',
    retryAfterSeconds?: number,
  ) {
    super(429, message, undefined, retryAfterSeconds === undefined ? {} : { 'Retry-After': String(retryAfterSeconds) });
  }
}

/**
 * How long a caller should wait after a 503 from Temporal being unreachable: the gateway itself already retried for
 * about 3 s, and an engine's process restarts in seconds (the drills: 1–10 s).
 */
export const UNAVAILABLE_RETRY_AFTER_SECONDS = 5;

/** 503: Temporal cannot be reached (or throttles us); nothing was started. `Retry-After` says when to come back. */
export class ServiceUnavailableError extends HttpError {
  override name = 'ServiceUnavailableError';
  constructor(message = 'The workflow service is unavailable; nothing was started or changed, please retry later') {
    super(503, message, undefined, { 'Retry-After': String(UNAVAILABLE_RETRY_AFTER_SECONDS) });
  }
}

/** 500: a bug. The body never carries the cause. */
export class InternalServerError extends HttpError {
  override name = 'InternalServerError';
  constructor() {
    super(500, 'An unexpected error occurred');
  }
}

/** Options of {@link errorHandler}. */
export interface ErrorHandlerOptions {
  /** Request logger; a request's own child logger in `res.locals.log` is preferred. */
  logger: Logger;
  /** `MAX_BODY_BYTES`, named in the 413 message. */
  maxBodyBytes: number;
}

/** The fallback route: anything no route matched is a 404. */
export const notFound: RequestHandler = () => {
  throw new NotFoundError();
};

/** The one error middleware, registered last: every error becomes SPEC's body, 5xx never say why. */
export function errorHandler({ logger, maxBodyBytes }: ErrorHandlerOptions): ErrorRequestHandler {
  return (err: unknown, _req, res, _next) => {
    const httpError = toHttpError(err, maxBodyBytes);
    logRefusal((res.locals.log as Logger | undefined) ?? logger, err, httpError);
    if (res.headersSent) {
      // Too late for an error body: cut the connection so the client sees a failure, not a truncated success.
      res.destroy();
      return;
    }
    for (const [name, value] of Object.entries(httpError.headers)) res.setHeader(name, value);
    res.status(httpError.status).json(httpError.toBody());
  };
}

/** One log line per refusal: bugs as errors, outages as warnings with their cause, the rest as info. */
function logRefusal(log: Logger, err: unknown, httpError: HttpError): void {
  if (httpError.status === 500) return log.error({ err }, 'request failed');
  // Other 5xx are expected outages (Temporal down): a warning, with the underlying cause when there is one.
  if (httpError.status > 500) {
    return log.warn(
      { status: httpError.status, reason: httpError.message, ...(err !== httpError && { err }) },
      'request failed',
    );
  }
  if (err instanceof UnauthorizedError) {
    return log.warn({ reason: err.reason, reasonCode: err.reasonCode }, 'authentication failed');
  }
  // A run error's own text (which run, which org) helps the operator and is withheld from the client.
  const cause =
    err !== httpError && SERVICE_ERRORS.some(([type]) => err instanceof type) ? (err as Error).message : undefined;
  log.info({ status: httpError.status, reason: httpError.message, cause }, 'request rejected');
}

/** Shape of the errors body-parser and the router raise (http-errors). */
interface ExpressInternalError {
  status?: unknown;
  type?: unknown;
  expose?: unknown;
}

/** RunService's typed errors as answers; their own messages are for the log, the client gets SPEC's wording. */
const SERVICE_ERRORS: Array<[new (...args: never[]) => Error, (err: never) => HttpError]> = [
  [TemporalUnavailableError, () => new ServiceUnavailableError()],
  [RunNotFoundError, () => new NotFoundError(RUN_NOT_FOUND_MESSAGE)],
  [
    RunAlreadyClosedError,
    (err: RunAlreadyClosedError) => new ConflictError(`The run has already closed; there is nothing to ${err.action}`),
  ],
  [
    TooManyActiveRunsError,
    (err: TooManyActiveRunsError) =>
      new TooManyRequestsError(
        `Lock ${err.lockId} already has ${err.limit} runs queued, running or paused; nothing was started, retry ` +
          'after the number of seconds in Retry-After',
        err.retryAfterSeconds,
      ),
  ],
  [
    InvalidCursorError,
    () =>
      new BadRequestError('Query is invalid', [
        { path: 'cursor', message: 'cursor is not one this API gave for this lock and status' },
      ]),
  ],
  [IdempotencyConflictError, () => new ConflictError('Idempotency-Key was already used with a different request')],
];

/** body-parser's refusals by their `type`; their own text may echo input, so ours is fixed. */
const BODY_PARSER_ERRORS: Record<string, (maxBodyBytes: number) => HttpError> = {
  'entity.parse.failed': () => new BadRequestError('Request body is not valid JSON'),
  'entity.too.large': (maxBodyBytes) => new PayloadTooLargeError(maxBodyBytes),
  'charset.unsupported': () => new UnsupportedMediaTypeError('Request body must be UTF-8 encoded JSON'),
  'encoding.unsupported': () => new UnsupportedMediaTypeError('Request body must not be compressed'),
  'request.aborted': () => new BadRequestError('Request body could not be read'),
  'request.size.invalid': () => new BadRequestError('Request body could not be read'),
};

function serviceErrorOf(err: Error): HttpError | undefined {
  const entry = SERVICE_ERRORS.find(([type]) => err instanceof type);
  return entry === undefined ? undefined : entry[1](err as never);
}

/** Any error as the answer the client gets: ours as they are, the RunService's and express's mapped, else a 500. */
function toHttpError(err: unknown, maxBodyBytes: number): HttpError {
  if (err instanceof HttpError) return err;
  if (err instanceof Error) {
    const fromService = serviceErrorOf(err);
    if (fromService !== undefined) return fromService;
  }
  return expressErrorOf(err, maxBodyBytes) ?? new InternalServerError();
}

/** What body-parser and the router raise, as SPEC answers; undefined for anything else (a bug: 500). */
function expressErrorOf(err: unknown, maxBodyBytes: number): HttpError | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const { status, type, expose } = err as ExpressInternalError;
  if (typeof type === 'string' && Object.hasOwn(BODY_PARSER_ERRORS, type))
    return BODY_PARSER_ERRORS[type]!(maxBodyBytes);
  // Other client errors from express itself (http-errors mark them `expose`; the router's URIError for an
  // undecodable `%` in the path does not); their own text may echo input, so ours is generic.
  const isClientError = expose === true || err instanceof URIError;
  if (typeof status !== 'number' || status < 400 || status >= 500 || !isClientError) return undefined;
  return new HttpError(status, 'The request could not be processed');
}
