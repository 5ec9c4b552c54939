import { LockBackendFailureType, type AddKeyResult, type RunSettings } from '@lockkeys/contracts';
import type { Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivities, type AddKeyInput } from './activities';
import { LockBackendError, type LockBackend } from './lock-backend';

const runSettings = { commandGapMs: 1000 } as RunSettings;
const key = { keyUuid: 'k', keyIndexNumber: 1, userId: 'u' };

function activitiesAnswering(answer: () => Promise<'created' | 'alreadyPresent'>) {
  const lockBackend: LockBackend = { putKey: jest.fn(answer) };
  const temporal = { client: {} as Client, taskQueue: 'q' };
  return { lockBackend, activities: createActivities({ lockBackend, runSettings, temporal }) };
}

test('addKey returns the outcome and the attempt number', async () => {
  const { activities, lockBackend } = activitiesAnswering(async () => 'alreadyPresent');
  const env = new MockActivityEnvironment({ attempt: 3 });
  await expect(env.run(activities.addKey, { lockId: 5, key })).resolves.toEqual({
    outcome: 'alreadyPresent',
    attempt: 3,
    answeredAt: expect.any(Number),
    answeredBy: expect.stringMatching(/^.+:\d+:[0-9a-f]{8}$/),
  });
  expect(lockBackend.putKey).toHaveBeenCalledWith(5, key, expect.anything());
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
  expect((error as ApplicationFailure).details?.[0]).toMatchObject({
    answeredAt: expect.any(Number),
    answeredBy: expect.any(String),
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

test('addKey waits for the rest of the gap after the same process got the answer to the previous command', async () => {
  const { activities } = activitiesAnswering(async () => 'created');
  const env = new MockActivityEnvironment({ attempt: 1 });
  const first: AddKeyResult = await env.run(activities.addKey, {
    lockId: 5,
    key,
    gap: { commandGapMs: 300 },
  } as AddKeyInput);
  const second: AddKeyResult = await env.run(activities.addKey, {
    lockId: 5,
    key,
    gap: { commandGapMs: 300, previous: { answeredAt: first.answeredAt, answeredBy: first.answeredBy } },
  } as AddKeyInput);
  expect(second.answeredAt! - first.answeredAt!).toBeGreaterThanOrEqual(300);
  expect(second.answeredBy).toBe(first.answeredBy);
});
