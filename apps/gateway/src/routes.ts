import type { Express, IRoute, Request } from 'express';
import { match } from 'path-to-regexp';

/** One method on one route the app serves, in express syntax: `{ method: 'GET', path: '/locks/:lockId/BulkAddKeys/:instanceId' }`. */
export interface ServedRoute {
  method: string;
  path: string;
}

/** Route label of requests that no route serves (unknown paths, wrong methods): one value, however many URLs. */
export const UNMATCHED_ROUTE = 'unmatched';

/**
 * Every route registered on `app`, read from its router stack (so a route added anywhere shows up). Routes must
 * sit on the app itself with their full path: a nested router hides its mount path, so it is refused here.
 */
export function servedRoutes(app: Express): ServedRoute[] {
  return app.router.stack.flatMap((layer) => {
    const route = layer.route as (IRoute & { methods?: Record<string, boolean> }) | undefined;
    if (route === undefined) {
      if (typeof (layer.handle as { stack?: unknown }).stack === 'object') {
        throw new Error('servedRoutes: a nested router was mounted; register routes on the app with their full path');
      }
      return [];
    }
    return Object.keys(route.methods ?? {})
      .filter((method) => method !== '_all')
      .map((method) => ({ method: method.toUpperCase(), path: route.path }));
  });
}

/** `/locks/:lockId/BulkAddKeys` → `/locks/{lockId}/BulkAddKeys`. */
export function toOpenApiPath(expressPath: string): string {
  return expressPath.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

/**
 * The route pattern a request was served by, for metric labels: `req.route` once a route matched, else the
 * pattern its path and method would match (a 401 or 429 answers before any route runs), else
 * {@link UNMATCHED_ROUTE}. Never the raw URL, so label values stay few.
 */
export function createRouteResolver(app: Express): (req: Request) => string {
  // Compiled on first use: every route is registered by then, and none after.
  let matchers: Array<{ route: ServedRoute; matches: (path: string) => boolean }> | undefined;
  return (req) => {
    const matched = (req.route as IRoute | undefined)?.path;
    if (typeof matched === 'string') return matched;
    matchers ??= servedRoutes(app).map((route) => {
      // Same matching rules as express: case-insensitive, optional trailing slash; no decoding, it cannot fail.
      const test = match(route.path, { decode: false, sensitive: false, trailing: true });
      return { route, matches: (path: string) => test(path) !== false };
    });
    const path = req.originalUrl.split('?', 1)[0] ?? '';
    // express answers HEAD with the GET route.
    const method = req.method === 'HEAD' ? 'GET' : req.method;
    return (
      matchers.find(({ route, matches }) => route.method === method && matches(path))?.route.path ?? UNMATCHED_ROUTE
    );
  };
}
