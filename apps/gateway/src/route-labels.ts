import { toExpressPath, type RouteDeclaration } from '@lockkeys/contracts';
import type { IRoute, Request } from 'express';
import { match } from 'path-to-regexp';

/** Route label of requests that no route serves (unknown paths, wrong methods): one value, however many URLs. */
export const UNMATCHED_ROUTE = 'unmatched';

/**
 * The route pattern a request was served by, for metric labels: `req.route` once a route matched, else the
 * declared route its path and method would match (a 401 or 429 answers before any route runs), else
 * {@link UNMATCHED_ROUTE}. Never the raw URL, so label values stay few.
 */
export function createRouteResolver(routes: Record<string, RouteDeclaration>): (req: Request) => string {
  const matchers = Object.values(routes).map((route) => {
    const path = toExpressPath(route.path);
    // Same matching rules as express: case-insensitive, optional trailing slash; no decoding, it cannot fail.
    const test = match(path, { decode: false, sensitive: false, trailing: true });
    return { method: route.method.toUpperCase(), path, matches: (url: string) => test(url) !== false };
  });
  return (req) => {
    const matched = (req.route as IRoute | undefined)?.path;
    // A 405 is answered by the method guard, which matched the path but is no route of its own.
    if (typeof matched === 'string' && matchers.some((m) => m.path === matched && m.method === methodOf(req))) {
      return matched;
    }
    const url = req.originalUrl.split('?', 1)[0] ?? '';
    return matchers.find((m) => m.method === methodOf(req) && m.matches(url))?.path ?? UNMATCHED_ROUTE;
  };
}

// express answers HEAD with the GET route.
const methodOf = (req: Request) => (req.method === 'HEAD' ? 'GET' : req.method);
