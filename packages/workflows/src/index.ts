/** Workflow code of lockkeys; the build bundles this file for the worker. */
import type { BulkAddKeysWorkflow, LockQueueWorkflow, WebhookEndpointWorkflow } from '@lockkeys/contracts/workflow';
import { bulkAddKeys } from './bulk-add-keys';
import { lockQueue } from './lock-queue';
import { webhookEndpoint } from './webhook-endpoint';

// Clients start these by the signatures in contracts: a workflow that drifts from its signature fails the build.
bulkAddKeys satisfies BulkAddKeysWorkflow;
lockQueue satisfies LockQueueWorkflow;
webhookEndpoint satisfies WebhookEndpointWorkflow;

export { bulkAddKeys, lockQueue, webhookEndpoint };
