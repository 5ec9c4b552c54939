import { createAdmission } from './admission';
import { createListing } from './listing';
import { createRunStatusReader } from './run-status';
import type { RunService } from './runs';
import { openTemporalSession, type TemporalRunServiceOptions, type TemporalServiceConfig } from './temporal-client';
import { createWebhookReader } from './webhooks';

export { idempotentInstanceId, newInstanceId, requestHash } from './admission';
export { TemporalUnavailableError } from './runs';
export type { TemporalRunServiceOptions } from './temporal-client';

/**
 * The real {@link RunService}, on the process's one Temporal connection: admission at the lock's workflow
 * (`admission.ts`), each run's status and control (`run-status.ts`), listings from visibility (`listing.ts`), the
 * organizations' webhook endpoints (`webhooks.ts`).
 */
export function createTemporalRunService(
  config: TemporalServiceConfig,
  options: TemporalRunServiceOptions = {},
): RunService {
  const session = openTemporalSession(config, options);
  const { connection, namespace } = session;
  const runs = createRunStatusReader(session);
  return {
    start: createAdmission(session, config),
    list: createListing(session, runs, config.jwt.key),
    status: runs.status,
    cancel: runs.cancel,
    pause: runs.pause,
    resume: runs.resume,
    webhooks: createWebhookReader(session, config.webhooks),

    async ready() {
      try {
        // One row of visibility: it proves the namespace exists and that the server reaches its database (the
        // frontend answers describeNamespace from its cache even while PostgreSQL is down).
        await connection.withDeadline(Date.now() + session.readyDeadlineMs, () =>
          connection.workflowService.listWorkflowExecutions({ namespace, pageSize: 1 }),
        );
        return true;
      } catch {
        return false;
      }
    },

    async close() {
      await connection.close();
    },
  };
}
