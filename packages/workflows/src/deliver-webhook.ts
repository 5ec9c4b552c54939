import {
  ActivityFailure,
  ApplicationFailure,
  metricMeter,
  proxyActivities,
  proxyLocalActivities,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '@lockkeys/activities';
import {
  WEBHOOK_DELIVERIES_METRIC,
  WebhookFailureType,
  type DeliverWebhookInput,
  type DeliverWebhookResult,
} from '@lockkeys/contracts/workflow';

const { readRunSettings } = proxyLocalActivities<Activities>({ startToCloseTimeout: '10 seconds' });

/** First pause between two delivery attempts; it doubles each time, up to {@link MAX_BACKOFF_MS}. */
const FIRST_BACKOFF_MS = 5_000;
const MAX_BACKOFF_MS = 60 * 60_000;

/**
 * Delivers one completion webhook: one `postWebhook` activity per attempt (so every attempt, its answer and its
 * failure are in the history and the Web UI), a durable back-off sleep between attempts, for the configured
 * retry window. Runs on its own task queue, started after the run released its lock: a slow or failing
 * receiver never holds a lock nor delays a run's result.
 */
export async function deliverWebhook(input: DeliverWebhookInput): Promise<DeliverWebhookResult> {
  const { webhook } = await readRunSettings();
  const giveUpAt = workflowInfo().startTime.getTime() + webhook.retryWindowMs;
  const post = proxyActivities<Activities>({
    // The receiver's own timeout plus slack for the worker; one attempt per activity, the loop retries.
    startToCloseTimeout: webhook.attemptTimeoutMs + 5_000,
    retry: { maximumAttempts: 1 },
  }).postWebhook;

  for (
    let attempt = 1, backoffMs = FIRST_BACKOFF_MS;
    ;
    attempt++, backoffMs = Math.min(backoffMs * 2, MAX_BACKOFF_MS)
  ) {
    try {
      await post({ ...input, attempt });
      return { delivered: true, attempts: attempt };
    } catch (error) {
      if (!(error instanceof ActivityFailure)) throw error;
      const noEndpoint =
        error.cause instanceof ApplicationFailure && error.cause.type === WebhookFailureType.NoEndpoint;
      if (noEndpoint || Date.now() + backoffMs > giveUpAt) {
        metricMeter
          .createCounter(
            WEBHOOK_DELIVERIES_METRIC.name,
            WEBHOOK_DELIVERIES_METRIC.unit,
            WEBHOOK_DELIVERIES_METRIC.description,
          )
          .add(1, { outcome: 'gave_up' });
        return { delivered: false, attempts: attempt };
      }
      await sleep(backoffMs, { summary: `back-off before attempt ${attempt + 1}` });
    }
  }
}
