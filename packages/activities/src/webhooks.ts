import { createHash } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import {
  WebhookFailureType,
  type RunClosedEvent,
  type RunClosedEventType,
  type RunStatusBody,
  type WebhookEndpoints,
} from '@lockkeys/contracts';
import { Webhook } from 'standardwebhooks';

/** One signed message to an organization's endpoint. */
export interface WebhookMessage {
  orgId: string;
  /** `webhook-id` of every attempt (the same on retries). */
  webhookId: string;
  /** The JSON body, exactly as it is signed and sent. */
  payload: string;
}

/** The `webhook-id` of a run's closing: derived from the run and how it closed, so every attempt carries the same. */
export function webhookIdOf(instanceId: string, type: RunClosedEventType): string {
  const digest = createHash('sha256').update(`${instanceId}\n${type}`).digest('base64url');
  return `msg_${digest.slice(0, 27)}`;
}

/**
 * The event of a run's closing, as it is signed and sent: `{ type, timestamp, data: <status body> }`, the timestamp
 * the run's close (so a retry, however late, sends the same body).
 */
export function runClosedEvent(orgId: string, body: RunStatusBody, type: RunClosedEventType): WebhookMessage {
  const event: RunClosedEvent = { type, timestamp: body.closedAt ?? new Date(0).toISOString(), data: body };
  return { orgId, webhookId: webhookIdOf(body.instanceId, type), payload: JSON.stringify(event) };
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
  async send({ orgId, webhookId, payload }: WebhookMessage): Promise<number> {
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
