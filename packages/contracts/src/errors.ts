/** SPEC's error body and how zod issues become its `details`. */
import { z } from 'zod';

/** Title of every status the API answers with (the `error` field). */
export const HTTP_STATUS_TITLES = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
} as const;
/** A status the API answers errors with. */
export type ErrorStatus = keyof typeof HTTP_STATUS_TITLES;

/** One problem in a rejected request. */
export const errorDetailSchema = z
  .object({
    path: z.string().meta({ description: 'Where the problem is, e.g. `keys.0.keyIndexNumber`; `""` is the body.' }),
    message: z.string(),
  })
  .meta({ id: 'ErrorDetail' });
export type ErrorDetail = z.infer<typeof errorDetailSchema>;

/** SPEC's error body. */
export const errorBodySchema = z
  .object({
    error: z.string().meta({ description: 'The HTTP status title, e.g. `Bad Request`.' }),
    message: z.string().meta({ description: 'One sentence for a person; never internals.' }),
    code: z.number().int().min(400).max(599).meta({ description: 'The HTTP status code.' }),
    details: z.array(errorDetailSchema).optional().meta({ description: 'For 400: each problem found.' }),
  })
  .meta({ id: 'ErrorBody', description: 'Every error answer.' });
export type ErrorBody = z.infer<typeof errorBodySchema>;

/** SPEC's exact body for every authentication failure. */
export const UNAUTHORIZED_BODY: ErrorBody = Object.freeze({
  error: 'Unauthorized',
  message: 'Authentication required. Please provide a valid API token',
  code: 401,
});

// A client-chosen property name is echoed in `path`; a 1 MB name must not come back as a 1 MB error.
const MAX_PATH_SEGMENT_LENGTH = 64;

const pathSegment = (segment: PropertyKey): string => {
  const text = String(segment);
  return text.length > MAX_PATH_SEGMENT_LENGTH ? `${text.slice(0, MAX_PATH_SEGMENT_LENGTH)}…` : text;
};

/**
 * zod issues as SPEC `details`: `keys.0.keyIndexNumber`; the root is `""`. Each unknown property is one
 * detail at its own path (`keys.0.admin`, `__proto__`), with over-long property names shortened.
 */
export function issuesToDetails(issues: readonly z.core.$ZodIssue[]): ErrorDetail[] {
  return issues.flatMap((issue) => {
    const path = issue.path.map(pathSegment);
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((name) => ({ path: [...path, pathSegment(name)].join('.'), message: 'unknown property' }));
    }
    return [{ path: path.join('.'), message: issue.message }];
  });
}
