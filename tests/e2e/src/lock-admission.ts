import { expectStatus, keyIndexes, keysFor, type TestStack } from '@lockkeys/testing';
import type { Client } from '@temporalio/client';

/** `MAX_ACTIVE_RUNS_PER_LOCK` of the e2e stacks: the gateway's default. */
export const BOUND = 20;

/** The bulkAddKeys runs Temporal holds for `lockId` (the lock's own workflow carries `LockId` too). */
export async function runsOfLock(client: Client, lockId: number, status?: 'Running'): Promise<number> {
  const query = `WorkflowType = 'bulkAddKeys' AND LockId = ${lockId}${status ? ` AND ExecutionStatus = '${status}'` : ''}`;
  return (await client.workflow.count(query)).count;
}

/**
 * The bound is exact (SPEC): `posts` POSTs at the same moment on an empty lock give exactly {@link BOUND} × 202 and the
 * rest 429 with Retry-After, and exactly {@link BOUND} runs exist. The lock is offline meanwhile (every command `503`,
 * retried), so no run can close — and free its slot — while the POSTs are decided, however long a loaded machine takes
 * to decide them (ten keys at a lock that answers close in nine seconds). Cancels the runs and brings the lock back.
 */
export async function expectExactBound(stack: TestStack, lockId: number, posts = 50): Promise<void> {
  const client = await stack.temporalClient();
  expect(await runsOfLock(client, lockId)).toBe(0);
  const offline = (await stack.simulator.faults()).offlineLocks;
  await stack.simulator.setFaults({ offlineLocks: [...offline, lockId] });
  try {
    const answers = await Promise.all(
      Array.from({ length: posts }, (_, n) =>
        stack.gateway.bulkAddKeys(lockId, keysFor(lockId, keyIndexes(10, n * 10), `bound-${n}`)),
      ),
    );
    const statuses = answers.map((a) => a.status).sort();
    expect(statuses).toEqual([...Array(BOUND).fill(202), ...Array(posts - BOUND).fill(429)]);
    for (const refused of answers.filter((a) => a.status === 429)) {
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
      expect(refused.body).toMatchObject({ error: 'Too Many Requests', code: 429 });
    }
    expect(await runsOfLock(client, lockId)).toBe(BOUND);
    expect(await runsOfLock(client, lockId, 'Running')).toBe(BOUND);
    const accepted = answers.filter((a) => a.status === 202).map((a) => expectStatus(a, 202).instanceId);
    for (const instanceId of accepted) await stack.gateway.cancel(lockId, instanceId);
  } finally {
    const now = (await stack.simulator.faults()).offlineLocks;
    await stack.simulator.setFaults({ offlineLocks: now.filter((id) => id !== lockId) });
  }
}
