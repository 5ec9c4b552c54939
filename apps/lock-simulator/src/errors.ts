import type { ErrorBody } from '@lockkeys/contracts';

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  404: 'Not Found',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Entity',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** An error that maps one-to-one to an HTTP status and a SPEC error body. */
export class HttpError extends Error {
  override readonly name = 'HttpError';

  constructor(
    readonly status: number,
    message: string,
    readonly details?: ErrorBody['details'],
  ) {
    super(message);
  }

  toBody(): ErrorBody {
    return errorBody(this.status, this.message, this.details);
  }
}

/** Builds the SPEC error body for `status`. */
export function errorBody(status: number, message: string, details?: ErrorBody['details']): ErrorBody {
  const body: ErrorBody = { error: TITLES[status] ?? 'Error', message, code: status };
  if (details && details.length > 0) body.details = details;
  return body;
}
