import {
  MEMO_ENDPOINT,
  shownWebhookUrl,
  webhookEndpointQuery,
  webhookEndpointWorkflowId,
  type WebhookEndpoints,
  type WebhookEndpointStatus,
  type WebhookEndpointView,
} from '@lockkeys/contracts';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { RunService } from './runs';
import type { TemporalSession } from './temporal-client';

const iso = (ms: number | null | undefined) => (ms === null || ms === undefined ? null : new Date(ms).toISOString());

/**
 * `RunService.webhooks`: the organization's endpoint from `WEBHOOKS_FILE`, and how it stands from its workflow
 * (`webhooks-{orgId}`): its own answer to a query, or — no worker answering in time — the view it wrote into its memo
 * at its last attempt. An endpoint whose workflow does not run (never used, or idle) has nothing waiting.
 */
export function createWebhookReader(session: TemporalSession, endpoints: WebhookEndpoints): RunService['webhooks'] {
  const { client, connection, call } = session;

  async function viewOf(orgId: string): Promise<WebhookEndpointView | undefined> {
    const handle = client.workflow.getHandle(webhookEndpointWorkflowId(orgId));
    try {
      return await connection.withDeadline(Date.now() + session.queryDeadlineMs, () =>
        handle.query(webhookEndpointQuery),
      );
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) return undefined;
    }
    const description = await call(() => handle.describe()).catch((error: unknown) => {
      if (error instanceof WorkflowNotFoundError) return undefined;
      throw error;
    });
    if (description === undefined || description.status.name !== 'RUNNING') return undefined;
    return description.memo?.[MEMO_ENDPOINT] as WebhookEndpointView | undefined;
  }

  return async (orgId) => {
    const endpoint = endpoints.get(orgId);
    if (endpoint === undefined) return [];
    const view = await viewOf(orgId);
    const status: WebhookEndpointStatus = {
      url: shownWebhookUrl(endpoint.url),
      state: view?.state ?? 'healthy',
      since: iso(view?.since),
      pending: view?.pending ?? 0,
      oldestPendingAt: iso(view?.oldestPendingAt),
      lastError: view?.lastError ?? null,
    };
    return [status];
  };
}
