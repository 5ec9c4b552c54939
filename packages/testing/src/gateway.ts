import type { IncomingHttpHeaders } from 'node:http';
import {
  DEFAULT_LIMITS,
  DEV_API_KEY,
  DEV_JWT_SECRET,
  DEV_ORG_ID,
  errorBodySchema,
  httpRoutes,
  type BulkAddKeysAccepted,
  type ErrorBody,
  type HttpRoutes,
  type JsonResponse,
  type KeySpec,
  type OperationId,
  type RouteDeclaration,
  type RunList,
  type RunListQuery,
  type RunStatusBody,
  type WebhookList,
} from '@lockkeys/contracts';
import { mintJwt } from '@lockkeys/dev-stack';
import { send, type Outgoing, type RawAnswer } from './http';
import { eventually } from './polling';
import { parsePrometheusText, type PromSample } from './prometheus';

/** One answer of a typed route: `body` is the route's success body, or SPEC's error body for any other status. */
export interface GatewayResponse<T> {
  status: number;
  headers: IncomingHttpHeaders;
  body: T | ErrorBody;
}

/** `response.body` when `response.status` is `status`; otherwise throws with what the gateway said instead. */
export function expectStatus<T>(response: GatewayResponse<T>, status: number, what = 'the request'): T {
  if (response.status !== status) {
    throw new Error(
      `${what}: expected ${status}, the gateway answered ${response.status} ${JSON.stringify(response.body)}`,
    );
  }
  return response.body as T;
}

/** Who the client is; by default the dev credentials every development gateway accepts. */
export interface GatewayClientOptions {
  /** The bearer token; default: an HS256 JWT signed with `DEV_JWT_SECRET` for `sub`, org `DEV_ORG_ID`. */
  jwt?: string;
  /** `sub` of the default JWT (default `tests`). */
  sub?: string;
  /** Default `DEV_API_KEY`. */
  apiKey?: string;
  /** Bound of one request (default 30 s). */
  timeoutMs?: number;
}

/** The routes as declared (the limits only shape request schemas, which the client does not use). */
const ROUTES = httpRoutes({
  ...DEFAULT_LIMITS,
  maxBodyBytes: 1024 * 1024,
  rateLimitPerMinute: 120,
  maxActiveRunsPerLock: 20,
});

/** The JSON success answer of route `R` (the first 2xx it declares) and its body type. */
type SuccessOf<R extends RouteDeclaration> = {
  [S in keyof R['responses']]: S extends 200 | 202
    ? R['responses'][S] extends JsonResponse<infer B>
      ? B
      : never
    : never;
}[keyof R['responses']];
type SuccessBody<R extends RouteDeclaration> = SuccessOf<R> extends { _zod: { output: infer O } } ? O : never;

/** What {@link GatewayClient.call} sends: path parameters, query, extra headers and a body, as the route takes them. */
export interface RouteCallOptions {
  params?: Record<string, string | number>;
  query?: Record<string, string | number | undefined>;
  headers?: Record<string, string | undefined>;
  body?: unknown;
}

/** What to wait for in {@link GatewayClient.waitForRun}. */
export interface WaitForRun {
  /** Default: the run is closed (`closedAt` set). */
  until?: (run: RunStatusBody) => boolean;
  /** Default 60 s. */
  timeoutMs?: number;
  /** Named in the timeout message. */
  what?: string;
}

/**
 * A client of the gateway over HTTP, as a property manager's backend would call it: one method per route it
 * serves, every answer checked against the contract's schemas, plus {@link GatewayClient.request} to send
 * anything at all.
 */
export class GatewayClient {
  readonly jwt: string;
  readonly apiKey: string;
  private readonly timeoutMs: number;

  constructor(
    readonly baseUrl: string,
    options: GatewayClientOptions = {},
  ) {
    this.jwt = options.jwt ?? mintJwt(DEV_JWT_SECRET, { sub: options.sub ?? 'tests', org: DEV_ORG_ID });
    this.apiKey = options.apiKey ?? DEV_API_KEY;
    this.timeoutMs = options.timeoutMs ?? 30_000;
  }

  /** The client's headers (JWT, API key, JSON) with `overrides` on top; an `undefined` override drops a header. */
  headers(overrides: Record<string, string | undefined> = {}): Record<string, string> {
    const merged: Record<string, string | undefined> = {
      authorization: `Bearer ${this.jwt}`,
      'x-api-key': this.apiKey,
      'content-type': 'application/json',
      ...overrides,
    };
    return Object.fromEntries(
      Object.entries(merged).filter((entry): entry is [string, string] => entry[1] !== undefined),
    );
  }

  /** Sends `outgoing` exactly as given (no credentials added): for hostile requests. */
  request(outgoing: Outgoing): Promise<RawAnswer> {
    return send(this.baseUrl, { timeoutMs: this.timeoutMs, ...outgoing });
  }

  private async typed<T>(
    success: { status: number; schema: { parse(value: unknown): T } },
    outgoing: Outgoing,
  ): Promise<GatewayResponse<T>> {
    const answer = await this.request(outgoing);
    const schema = answer.status === success.status ? success.schema : errorBodySchema;
    try {
      schema.parse(answer.body);
    } catch (error) {
      throw new Error(
        `${outgoing.method} ${outgoing.path}: the gateway answered ${answer.status} with a body outside the contract: ` +
          `${answer.text.slice(0, 500)}\n${String(error)}`,
      );
    }
    // The body as sent (validated above), not zod's copy: a test comparing it sees every property.
    return { status: answer.status, headers: answer.headers, body: answer.body as T | ErrorBody };
  }

  /**
   * Calls a route by its `operationId`, as the contract declares it (method, path, success status and schema):
   * the body is checked against the declared success schema, or SPEC's error body for any other status.
   */
  call<K extends OperationId>(
    operationId: K,
    options: RouteCallOptions = {},
  ): Promise<GatewayResponse<SuccessBody<HttpRoutes[K]>>> {
    const route: RouteDeclaration = ROUTES[operationId];
    const path = route.path.replace(/\{(\w+)\}/g, (_, name: string) =>
      encodeURIComponent(String(options.params?.[name])),
    );
    const query = Object.entries(options.query ?? {}).filter(
      (entry): entry is [string, string | number] => entry[1] !== undefined,
    );
    const search =
      query.length === 0
        ? ''
        : `?${new URLSearchParams(query.map(([k, v]): [string, string] => [k, String(v)])).toString()}`;
    const [status, success] = Object.entries(route.responses).find(([code]) => code.startsWith('2'))!;
    if (success.kind !== 'json') throw new Error(`${operationId} does not answer JSON`);
    return this.typed(
      { status: Number(status), schema: success.schema as { parse(value: unknown): SuccessBody<HttpRoutes[K]> } },
      {
        method: route.method.toUpperCase(),
        path: `${path}${search}`,
        headers: this.headers(options.headers),
        ...(options.body !== undefined && { body: JSON.stringify(options.body) }),
      },
    );
  }

  /** `POST /locks/{lockId}/BulkAddKeys` with `keys`; `202` with the run's `instanceId`. */
  bulkAddKeys(
    lockId: number,
    keys: readonly KeySpec[],
    headers: Record<string, string | undefined> = {},
  ): Promise<GatewayResponse<BulkAddKeysAccepted>> {
    return this.call('startBulkAddKeys', { params: { lockId }, headers, body: { keys } });
  }

  /** `GET /locks/{lockId}/BulkAddKeys`: a page of the organization's runs on the lock. */
  list(
    lockId: number,
    query: Partial<Record<keyof RunListQuery, string | number>> = {},
  ): Promise<GatewayResponse<RunList>> {
    return this.call('listBulkAddKeysRuns', { params: { lockId }, query });
  }

  /** `GET /locks/{lockId}/BulkAddKeys/{instanceId}`: `200` with the run's status. */
  status(lockId: number, instanceId: string): Promise<GatewayResponse<RunStatusBody>> {
    return this.call('getBulkAddKeysRun', { params: { lockId, instanceId } });
  }

  /** `GET /webhooks`: the organization's webhook endpoints and how their deliveries stand. */
  webhooks(): Promise<GatewayResponse<WebhookList>> {
    return this.call('listWebhooks');
  }

  /** `POST /locks/{lockId}/BulkAddKeys/{instanceId}/cancel`: `202` with the run's status. */
  cancel(lockId: number, instanceId: string): Promise<GatewayResponse<RunStatusBody>> {
    return this.call('cancelBulkAddKeysRun', { params: { lockId, instanceId } });
  }

  /** `POST …/pause`: `202` with the run's status. */
  pause(lockId: number, instanceId: string): Promise<GatewayResponse<RunStatusBody>> {
    return this.call('pauseBulkAddKeysRun', { params: { lockId, instanceId } });
  }

  /** `POST …/resume`: `202` with the run's status. */
  resume(lockId: number, instanceId: string): Promise<GatewayResponse<RunStatusBody>> {
    return this.call('resumeBulkAddKeysRun', { params: { lockId, instanceId } });
  }

  /** Starts a run; throws unless the gateway accepts it (`202`). */
  async startRun(
    lockId: number,
    keys: readonly KeySpec[],
    headers: Record<string, string | undefined> = {},
  ): Promise<BulkAddKeysAccepted> {
    return expectStatus(await this.bulkAddKeys(lockId, keys, headers), 202, `BulkAddKeys on lock ${lockId}`);
  }

  /** The run's status body; throws unless `200`. */
  async run(lockId: number, instanceId: string): Promise<RunStatusBody> {
    return expectStatus(await this.status(lockId, instanceId), 200, `status of ${instanceId}`);
  }

  /** Polls the run's status until `until` holds (default: closed); returns that body. */
  async waitForRun(lockId: number, instanceId: string, wait: WaitForRun = {}): Promise<RunStatusBody> {
    const until = wait.until ?? ((run: RunStatusBody) => run.closedAt !== null);
    return eventually(
      async () => {
        const run = await this.run(lockId, instanceId);
        return until(run) ? run : undefined;
      },
      wait.timeoutMs ?? 60_000,
      wait.what ?? `run ${instanceId} on lock ${lockId} to close`,
    );
  }

  /** `GET /healthz`: the status code (200 while the process lives). */
  async healthz(): Promise<number> {
    return (await this.request({ method: 'GET', path: '/healthz', headers: {} })).status;
  }

  /** `GET /readyz`: the status code (200 while Temporal is reachable, 503 otherwise). */
  async readyz(): Promise<number> {
    return (await this.request({ method: 'GET', path: '/readyz', headers: {} })).status;
  }

  /** `GET /metrics`, parsed; throws unless `200`. */
  async metrics(): Promise<PromSample[]> {
    const answer = await this.request({ method: 'GET', path: '/metrics', headers: {} });
    if (answer.status !== 200) throw new Error(`GET /metrics: ${answer.status}`);
    return parsePrometheusText(answer.text);
  }
}
