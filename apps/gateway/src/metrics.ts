import type { Request, RequestHandler } from 'express';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { RunService } from './runs';
import { AUTH_FAILURE_REASONS } from './errors';

/** Label set of the HTTP request metrics. */
type RequestLabels = 'route' | 'method' | 'status';

/** The gateway's Prometheus metrics, in a registry of its own (one per app, so tests never share counters). */
export interface GatewayMetrics {
  /** What `GET /metrics` serves: these metrics plus the default Node.js process metrics. */
  readonly registry: Registry;
  /** `http_requests_total{route,method,status}`. */
  readonly httpRequests: Counter<RequestLabels>;
  /** `http_request_duration_seconds{route,method,status}`. */
  readonly httpRequestDuration: Histogram<RequestLabels>;
  /** `lockkeys_workflows_started_total{replayed}`: `replayed="true"` is an idempotent replay, which started nothing. */
  readonly workflowsStarted: Counter<'replayed'>;
  /** `lockkeys_auth_failures_total{reason}`, reason from {@link AUTH_FAILURE_REASONS}. */
  readonly authFailures: Counter<'reason'>;
  /** `lockkeys_rate_limited_total`: requests answered 429 by the per-API-key limit. */
  readonly rateLimited: Counter;
}

// A POST waits for its admission up to ADMISSION_TIMEOUT_MS (60 s by default): the default 10 s top bucket is too low.
const DURATION_BUCKETS_SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

// Methods get their own label value; anything else the HTTP parser lets through is `other`.
const LABELLED_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** Creates the metrics in a fresh registry, with every bounded label value present at 0 so rates start from zero. */
export function createGatewayMetrics(): GatewayMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const metrics: GatewayMetrics = {
    registry,
    httpRequests: new Counter({
      name: 'http_requests_total',
      help: 'HTTP requests answered, by route pattern, method and status.',
      labelNames: ['route', 'method', 'status'],
      registers,
    }),
    httpRequestDuration: new Histogram({
      name: 'http_request_duration_seconds',
      help: 'Time from receiving a request to sending the last byte of its answer, by route pattern, method and status.',
      labelNames: ['route', 'method', 'status'],
      buckets: DURATION_BUCKETS_SECONDS,
      registers,
    }),
    workflowsStarted: new Counter({
      name: 'lockkeys_workflows_started_total',
      help: 'Accepted BulkAddKeys requests: replayed="false" started a workflow, replayed="true" returned an earlier one (Idempotency-Key).',
      labelNames: ['replayed'],
      registers,
    }),
    authFailures: new Counter({
      name: 'lockkeys_auth_failures_total',
      help: 'Requests refused with 401, by reason.',
      labelNames: ['reason'],
      registers,
    }),
    rateLimited: new Counter({
      name: 'lockkeys_rate_limited_total',
      help: 'Requests refused with 429 by the per-API-key rate limit.',
      registers,
    }),
  };
  for (const replayed of ['false', 'true']) metrics.workflowsStarted.inc({ replayed }, 0);
  for (const reason of AUTH_FAILURE_REASONS) metrics.authFailures.inc({ reason }, 0);
  return metrics;
}

/**
 * Records every request in `http_requests_total` and `http_request_duration_seconds` once its answer is sent;
 * a request whose connection closed first gets `status="aborted"`. `routeOf` names the route pattern.
 */
export function requestMetrics(metrics: GatewayMetrics, routeOf: (req: Request) => string): RequestHandler {
  return (req, res, next) => {
    const stopTimer = metrics.httpRequestDuration.startTimer();
    let observed = false;
    const observe = (status: string) => {
      if (observed) return;
      observed = true;
      const labels = {
        route: routeOf(req),
        method: LABELLED_METHODS.has(req.method) ? req.method : 'other',
        status,
      };
      metrics.httpRequests.inc(labels);
      stopTimer(labels);
    };
    // `finish` comes before `close` when the answer went out; `close` alone means it never did.
    res.once('finish', () => observe(String(res.statusCode)));
    res.once('close', () => observe('aborted'));
    next();
  };
}

/**
 * `lockkeys_webhook_pending{org}` and `lockkeys_webhook_failing{org}` (1 while failing), read from each configured
 * organization's endpoint at scrape time (its workflow's query, as `GET /webhooks` reads it). An endpoint that cannot
 * be read during a scrape (Temporal down) is left out of that scrape rather than shown as healthy.
 */
export function watchWebhookEndpoints(
  metrics: GatewayMetrics,
  orgIds: readonly string[],
  runs: Pick<RunService, 'webhooks'>,
) {
  if (orgIds.length === 0) return;
  const registers = [metrics.registry];
  // One reading serves both gauges of a scrape: it is kept for a second.
  let reading: { at: number; values: Promise<Map<string, { pending: number; failing: number }>> } | undefined;
  const readAll = async () => {
    const byOrg = new Map<string, { pending: number; failing: number }>();
    for (const orgId of orgIds) {
      const [endpoint] = await runs.webhooks(orgId).catch(() => []);
      if (endpoint) byOrg.set(orgId, { pending: endpoint.pending, failing: endpoint.state === 'failing' ? 1 : 0 });
    }
    return byOrg;
  };
  const read = () => {
    if (reading === undefined || Date.now() - reading.at > 1_000) reading = { at: Date.now(), values: readAll() };
    return reading.values;
  };
  const gauge = (name: string, help: string, field: 'pending' | 'failing') =>
    new Gauge({
      name,
      help,
      labelNames: ['org'],
      registers,
      async collect() {
        this.reset();
        for (const [org, values] of await read()) this.set({ org }, values[field]);
      },
    });
  gauge('lockkeys_webhook_pending', 'Completion webhook events waiting at the organization’s endpoint.', 'pending');
  gauge(
    'lockkeys_webhook_failing',
    '1 while the organization’s webhook endpoint is failing (being probed), else 0.',
    'failing',
  );
}
