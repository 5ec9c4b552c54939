import { randomUUID } from 'node:crypto';
import {
  BULK_ADD_KEYS_WORKFLOW,
  DEFAULT_TASK_QUEUE,
  DEV_ORG_ID,
  MEMO_CREATED_AT,
  MEMO_ORG_ID,
  type BulkAddKeysInput,
  type BulkAddKeysWorkflow,
  type KeySpec,
} from '@lockkeys/contracts';
import { LOCK_ID_KEY, ORG_ID_KEY } from '@lockkeys/testing';
import type { Client } from '@temporalio/client';
import { TypedSearchAttributes } from '@temporalio/common';

/**
 * A lockkeys run started with a bare `client.workflow.start` and what the gateway hands Temporal for it (input,
 * `LockId` and `OrgId`, the org and creation time in the memo, the summary), without the gateway's own checks. Returns
 * the workflow ID.
 */
export async function startLockkeysRunBare(client: Client, lockId: number, keys: readonly KeySpec[]): Promise<string> {
  const workflowId = `lock-${lockId}-${randomUUID()}`;
  const input: BulkAddKeysInput = { lockId, orgId: DEV_ORG_ID, requestedBy: 'bench', keys: [...keys] };
  await client.workflow.start<BulkAddKeysWorkflow>(BULK_ADD_KEYS_WORKFLOW, {
    taskQueue: DEFAULT_TASK_QUEUE,
    workflowId,
    args: [input],
    typedSearchAttributes: new TypedSearchAttributes([
      { key: LOCK_ID_KEY, value: lockId },
      { key: ORG_ID_KEY, value: DEV_ORG_ID },
    ]),
    memo: { [MEMO_ORG_ID]: DEV_ORG_ID, [MEMO_CREATED_AT]: new Date().toISOString() },
    staticSummary: `Add ${keys.length} key${keys.length === 1 ? '' : 's'} to lock ${lockId} for org ${DEV_ORG_ID}`,
  });
  return workflowId;
}
