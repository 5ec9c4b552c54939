import {
  ActivityFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  log,
  metricMeter,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  sleep,
  TimeoutFailure,
  upsertMemo,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '@lockkeys/activities';
import {
  MEMO_ENDPOINT,
  WEBHOOK_DELIVERIES_METRIC,
  webhookEndpointQuery,
  webhookEventSignal,
  type WebhookBatchOutcome,
  type WebhookEndpointInput,
  type WebhookEndpointState,
  type WebhookEndpointView,
} from '@lockkeys/contracts/workflow';

const { readRunSettings } = proxyLocalActivities<Activities>({ startToCloseTimeout: '10 seconds' });

/** Events one delivery activity takes, in order; it stops at the first that is not delivered. */
const BATCH = 50;
/** Failed attempts in a row after which the endpoint is `failing`. */
const FAILING_AFTER = 3;
/** The first pause after a failure; it doubles up to the probe interval. */
const FIRST_BACKOFF_MS = 1_000;
/** Delivered ids remembered, so an announcement repeated after its delivery goes out once. */
const RECENT = 500;
/** An endpoint with nothing to deliver ends after this; the next event starts it again. */
const IDLE_MS = 10 * 60_000;

/**
 * One organization's webhook endpoint, one workflow (`webhooks-{orgId}`): runs that close announce their event here
 * (signal-with-start), it holds them in order and delivers them one after another, in batches of one activity
 * each. A failure backs the whole endpoint off — 1 s, doubling, up to `WEBHOOK_PROBE_MS` — so a receiver that is down
 * costs one attempt per interval, not one per event; after three failures in a row it is `failing`, and its backlog
 * flows at once, in order, when it answers again. Every event keeps its `webhook-id` (at least once: a receiver
 * dedupes by it). Events older than `WEBHOOK_RETRY_HOURS` are dropped, with a log line and a metric. Carries its
 * state across continue-as-new; ends when idle.
 */
export async function webhookEndpoint(start: WebhookEndpointInput | WebhookEndpointState): Promise<void> {
  const state: WebhookEndpointState =
    'pending' in start
      ? start
      : {
          orgId: start.orgId,
          pending: [],
          health: { state: 'healthy', since: Date.now(), failures: 0, lastError: null },
          recentlyDelivered: [],
          delivered: 0,
          expired: 0,
        };
  setHandler(webhookEventSignal, (event) => {
    const known = (id: string) => id === event.webhookId;
    if (state.pending.some((e) => known(e.webhookId)) || state.recentlyDelivered.some(known)) return;
    state.pending.push(event);
  });
  setHandler(webhookEndpointQuery, () => viewOf(state));

  const { webhook } = await readRunSettings();
  const { deliverWebhookEvents } = proxyActivities<Activities>({
    // Each event at most one attempt's timeout; the heartbeat after each one says how far it got.
    startToCloseTimeout: BATCH * (webhook.attemptTimeoutMs + 5_000),
    heartbeatTimeout: webhook.attemptTimeoutMs + 5_000,
    retry: { maximumAttempts: 1 },
  });
  const outcomes = metricMeter.createCounter(
    WEBHOOK_DELIVERIES_METRIC.name,
    WEBHOOK_DELIVERIES_METRIC.unit,
    WEBHOOK_DELIVERIES_METRIC.description,
  );

  for (let backoffMs = FIRST_BACKOFF_MS; ;) {
    if (workflowInfo().continueAsNewSuggested && allHandlersFinished()) {
      await continueAsNew<typeof webhookEndpoint>(state);
    }
    if (state.pending.length === 0) {
      const anything = await condition(() => state.pending.length > 0, IDLE_MS);
      if (!anything && allHandlersFinished()) return;
      continue;
    }
    const oldestKept = Date.now() - webhook.retryWindowMs;
    const expired = state.pending.filter((event) => event.announcedAt < oldestKept);
    if (expired.length > 0) {
      state.pending = state.pending.filter((event) => event.announcedAt >= oldestKept);
      state.expired += expired.length;
      outcomes.add(expired.length, { outcome: 'expired' });
      log.warn('webhook events dropped: older than the retry window', {
        orgId: state.orgId,
        webhookIds: expired.map((e) => e.webhookId),
        retryWindowMs: webhook.retryWindowMs,
      });
      if (state.pending.length === 0) continue;
    }

    const outcome = await deliverWebhookEvents({ orgId: state.orgId, events: state.pending.slice(0, BATCH) }).catch(
      (error: unknown): WebhookBatchOutcome => ({ delivered: heartbeatOf(error), failure: reasonOf(error) }),
    );
    const sent = state.pending.splice(0, outcome.delivered);
    state.delivered += sent.length;
    state.recentlyDelivered = [...state.recentlyDelivered, ...sent.map((e) => e.webhookId)].slice(-RECENT);
    const { health } = state;
    if (sent.length > 0) {
      if (health.state === 'failing') Object.assign(health, { state: 'healthy', since: Date.now() });
      health.failures = 0;
      backoffMs = FIRST_BACKOFF_MS;
    }
    if (outcome.failure !== undefined) {
      if (health.failures === 0 && health.state === 'healthy') health.since = Date.now();
      health.failures++;
      health.lastError = outcome.failure;
      if (health.state === 'healthy' && health.failures >= FAILING_AFTER) health.state = 'failing';
    }
    // What `GET /webhooks` reads when no worker answers the query.
    upsertMemo({ [MEMO_ENDPOINT]: viewOf(state) });
    if (outcome.failure !== undefined) {
      await sleep(backoffMs, { summary: `${health.state}: next attempt in ${backoffMs} ms` });
      backoffMs = Math.min(backoffMs * 2, Math.max(webhook.probeIntervalMs, FIRST_BACKOFF_MS));
    }
  }
}

/** What `GET /webhooks` shows of the endpoint. */
function viewOf(state: WebhookEndpointState): WebhookEndpointView {
  return {
    ...state.health,
    pending: state.pending.length,
    oldestPendingAt: state.pending[0]?.announcedAt ?? null,
    delivered: state.delivered,
    expired: state.expired,
  };
}

/** How many events a delivery that timed out had sent: its last heartbeat says. */
function heartbeatOf(error: unknown): number {
  const timeout = error instanceof ActivityFailure ? error.cause : undefined;
  const details = timeout instanceof TimeoutFailure ? timeout.lastHeartbeatDetails : undefined;
  return typeof details === 'number' ? details : 0;
}

function reasonOf(error: unknown): string {
  const cause = error instanceof ActivityFailure ? error.cause : error;
  return cause instanceof Error ? cause.message : String(cause);
}
