import { createHash } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import {
  keyOutcomes,
  summarize,
  WebhookFailureType,
  type DeliverWebhookInput,
  type KeyProgress,
  type RunClosedEvent,
  type RunClosedEventType,
} from '@lockkeys/contracts';
import { Webhook } from 'standardwebhooks';

/** One organization's endpoint (`WEBHOOKS_FILE`). */
export interface WebhookEndpoint {
  url: string;
  /** `whsec_<base64>`, as Standard Webhooks spells secrets. */
  secret: string;
}
/** Endpoints by organization. */
export type WebhookEndpoints = ReadonlyMap<string, WebhookEndpoint>;

/** What a run knows about itself when it closes. */
export interface RunClosing {
  type: RunClosedEventType;
  instanceId: string;
  orgId: string;
  lockId: number;
  createdAt: string;
  keys: KeyProgress[];
}

const STATUS_OF: Record<RunClosedEventType, RunClosedEvent['data']['status']> = {
  'bulkAddKeys.complete': 'complete',
  'bulkAddKeys.cancelled': 'cancelled',
  'bulkAddKeys.errored': 'errored',
};

/**
 * The event of a run's closing, as it is signed and sent: `{ type, timestamp, data: <status body> }`. Its
 * `webhook-id` is derived from the run, so every attempt (and a retried announcement) carries the same one.
 */
export function runClosedEvent(closing: RunClosing, closedAt: Date): DeliverWebhookInput {
  const event: RunClosedEvent = {
    type: closing.type,
    timestamp: closedAt.toISOString(),
    data: {
      instanceId: closing.instanceId,
      lockId: closing.lockId,
      status: STATUS_OF[closing.type],
      createdAt: closing.createdAt,
      closedAt: closedAt.toISOString(),
      summary: summarize(closing.keys),
      keys: keyOutcomes(closing.keys),
    },
  };
  const digest = createHash('sha256').update(`${closing.instanceId}\n${closing.type}`).digest('base64url');
  return { orgId: closing.orgId, webhookId: `msg_${digest.slice(0, 27)}`, payload: JSON.stringify(event) };
}

/** Sends signed webhook messages (Standard Webhooks) to the organizations' endpoints, one attempt per call. */
export class WebhookSender {
  constructor(
    private readonly endpoints: WebhookEndpoints,
    private readonly attemptTimeoutMs: number,
  ) {}

  /**
   * One POST: resolves with the status on any 2xx; otherwise throws an ApplicationFailure whose type says why
   * (no endpoint, rejected, unreachable). Redirects are not followed: a 3xx is a rejection.
   */
  async send({ orgId, webhookId, payload }: DeliverWebhookInput): Promise<number> {
    const endpoint = this.endpoints.get(orgId);
    if (endpoint === undefined) {
      throw ApplicationFailure.create({
        type: WebhookFailureType.NoEndpoint,
        message: `organization ${orgId} has no webhook endpoint`,
        nonRetryable: true,
      });
    }
    const timestamp = new Date();
    const signature = new Webhook(endpoint.secret).sign(webhookId, timestamp, payload);
    let response: Response;
    try {
      response = await fetch(endpoint.url, {
        method: 'POST',
        redirect: 'manual',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'lockkeys-webhooks/1',
          'webhook-id': webhookId,
          'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
          'webhook-signature': signature,
        },
        body: payload,
        signal: AbortSignal.timeout(this.attemptTimeoutMs),
      });
      await response.arrayBuffer().catch(() => undefined);
    } catch (error) {
      throw ApplicationFailure.create({
        type: WebhookFailureType.Unreachable,
        message: `${hostOf(endpoint.url)} did not answer: ${error instanceof Error ? error.message : String(error)}`,
      });
    }
    if (response.status >= 200 && response.status < 300) return response.status;
    const redirect = response.status >= 300 && response.status < 400 ? ' (redirects are not followed)' : '';
    throw ApplicationFailure.create({
      type: WebhookFailureType.Rejected,
      message: `${hostOf(endpoint.url)} answered ${response.status}${redirect}`,
    });
  }
}

// The receiver's host only: a URL may carry a token in its path or query, which has no place in the history.
const hostOf = (url: string) => new URL(url).host;
