import { randomUUID } from 'node:crypto';
import { admitRun } from '@lockkeys/admission';
import { DEFAULT_TASK_QUEUE, DEV_ORG_ID, taskQueues, type KeySpec } from '@lockkeys/contracts';
import type { Client } from '@temporalio/client';

/**
 * A lockkeys run admitted and started the way the gateway does it (`@lockkeys/admission`: the update-with-start on
 * the lock's workflow, then the run), without the gateway's HTTP, auth and validation. Returns the workflow ID.
 */
export async function startLockkeysRunBare(client: Client, lockId: number, keys: readonly KeySpec[]): Promise<string> {
  const workflowId = `lock-${lockId}-${randomUUID()}`;
  const acceptedAt = new Date();
  await admitRun(client, taskQueues(DEFAULT_TASK_QUEUE), {
    instanceId: workflowId,
    input: { lockId, orgId: DEV_ORG_ID, requestedBy: 'bench', keys: [...keys] },
    requestHash: workflowId,
    maxActiveRuns: 20,
    acceptedAt,
    deadline: acceptedAt.getTime() + 20_000,
  });
  return workflowId;
}
