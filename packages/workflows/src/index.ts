/** Workflow code of lockkeys; the build bundles this file for the worker. */
import type { BulkAddKeysWorkflow, DeliverWebhookWorkflow, LockQueueWorkflow } from '@lockkeys/contracts/workflow';
import { bulkAddKeys } from './bulk-add-keys';
import { deliverWebhook } from './deliver-webhook';
import { lockQueue } from './lock-queue';

// Clients start these by the signatures in contracts: a workflow that drifts from its signature fails the build.
bulkAddKeys satisfies BulkAddKeysWorkflow;
lockQueue satisfies LockQueueWorkflow;
deliverWebhook satisfies DeliverWebhookWorkflow;

export { bulkAddKeys, deliverWebhook, lockQueue };
