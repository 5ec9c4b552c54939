import { LockBackendFailureType, taskQueues, type RunSettings } from '@lockkeys/contracts';
import type { Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivities } from './activities';
import { LockBackendError, type LockBackend } from './lock-backend';

const runSettings = { commandGapMs: 1000 } as RunSettings;
const key = { keyUuid: 'k', keyIndexNumber: 1, userId: 'u' };

function activitiesAnswering(answer: () => Promise<'created' | 'alreadyPresent'>) {
  const lockBackend: LockBackend = { putKey: jest.fn(answer) };
  const temporal = { client: {} as Client, taskQueues: taskQueues('q') };
  const webhooks = { endpoints: new Map(), attemptTimeoutMs: 1000 };
  return { lockBackend, activities: createActivities({ lockBackend, runSettings, temporal, webhooks }) };
}

test('addKey sends one command and returns the outcome and the attempt number', async () => {
  const { activities, lockBackend } = activitiesAnswering(async () => 'alreadyPresent');
  const env = new MockActivityEnvironment({ attempt: 3 });
  await expect(env.run(activities.addKey, { lockId: 5, key })).resolves.toEqual({
    outcome: 'alreadyPresent',
    attempt: 3,
  });
  expect(lockBackend.putKey).toHaveBeenCalledTimes(1);
  expect(lockBackend.putKey).toHaveBeenCalledWith(5, key);
});

test.each([
  [1, 'created', 1],
  [1, 'alreadyPresent', 2],
  [3, 'alreadyPresent', 3],
] as const)('attempt %s answered %s counts %s commands', async (attempt, outcome, counted) => {
  const { activities } = activitiesAnswering(async () => outcome);
  await expect(new MockActivityEnvironment({ attempt }).run(activities.addKey, { lockId: 5, key })).resolves.toEqual({
    outcome,
    attempt: counted,
  });
});

test('addKey does not wait: it lasts as long as the lock takes to answer', async () => {
  const { activities } = activitiesAnswering(async () => 'created');
  const startedAt = performance.now();
  await new MockActivityEnvironment({ attempt: 1 }).run(activities.addKey, { lockId: 5, key });
  await new MockActivityEnvironment({ attempt: 1 }).run(activities.addKey, { lockId: 5, key });
  expect(performance.now() - startedAt).toBeLessThan(runSettings.commandGapMs / 2);
});

test.each([
  [LockBackendFailureType.LockNotFound, true],
  [LockBackendFailureType.SlotOccupied, true],
  [LockBackendFailureType.KeyIndexOutOfRange, true],
  [LockBackendFailureType.LockBusy, false],
  [LockBackendFailureType.LockOffline, false],
  [LockBackendFailureType.LockBackendError, false],
  [LockBackendFailureType.LockBackendUnreachable, false],
])('%s → ApplicationFailure, nonRetryable=%s, with the attempt in its details', async (type, nonRetryable) => {
  const { activities } = activitiesAnswering(async () => {
    throw new LockBackendError(type, `lock said ${type}`, 418);
  });
  const error = await new MockActivityEnvironment({ attempt: 2 })
    .run(activities.addKey, { lockId: 5, key })
    .catch((e: unknown) => e);
  expect(error).toBeInstanceOf(ApplicationFailure);
  expect(error).toMatchObject({
    type,
    nonRetryable,
    message: `lock said ${type}`,
    details: [{ attempt: 2, httpStatus: 418 }],
  });
});

test('an unexpected error is rethrown as is (retryable)', async () => {
  const boom = new TypeError('bug');
  const { activities } = activitiesAnswering(async () => {
    throw boom;
  });
  await expect(new MockActivityEnvironment().run(activities.addKey, { lockId: 5, key })).rejects.toBe(boom);
});

test('readRunSettings returns the worker settings it was given', async () => {
  const { activities } = activitiesAnswering(async () => 'created');
  await expect(new MockActivityEnvironment().run(activities.readRunSettings)).resolves.toBe(runSettings);
});

test('announceRunClosed starts nothing for an organization without a webhook', async () => {
  const { activities } = activitiesAnswering(async () => 'created');
  const closing = {
    type: 'bulkAddKeys.complete' as const,
    instanceId: 'lock-1-x',
    orgId: 'acme',
    lockId: 1,
    createdAt: '2026-01-01T00:00:00.000Z',
    keys: [],
  };
  // The client is an empty object: any call to it would throw.
  await expect(new MockActivityEnvironment().run(activities.announceRunClosed, closing)).resolves.toEqual({
    announced: false,
  });
});
