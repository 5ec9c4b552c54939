import { setTimeout as delay } from 'node:timers/promises';
import { LOCK_ID_KEY, type RunStatusBody } from '@lockkeys/contracts';
import { RUNNING, runRecordOf, statusBodyOf } from '@lockkeys/run-status';
import type { Client } from '@temporalio/client';

/** How long a run announced as closing may take to be closed: its last workflow task, after the announcement. */
const CLOSING_MS = 10_000;

/**
 * A closed run's status body, read from Temporal as `GET …/{instanceId}` reads it (`@lockkeys/run-status`): what a
 * webhook event carries. A run announces its closing from its last task, so it may still be open for a moment.
 */
export class ClosedRuns {
  constructor(private readonly client: Client) {}

  async statusOf(instanceId: string): Promise<RunStatusBody> {
    const handle = this.client.workflow.getHandle(instanceId);
    for (const giveUpAt = Date.now() + CLOSING_MS; ;) {
      const description = await handle.describe();
      const lockId = description.typedSearchAttributes.get(LOCK_ID_KEY) ?? 0;
      const run = runRecordOf(instanceId, lockId, description);
      if (run.status !== RUNNING) return statusBodyOf(this.client, run, { queryDeadlineMs: 1_000 });
      if (Date.now() > giveUpAt) throw new Error(`run ${instanceId} is not closed yet`);
      await delay(100);
    }
  }
}

/**
 * `read` of the items in order, up to `ahead` items past the one asked for already under way: a batch of webhook
 * events is sent one after another, but its bodies (two Temporal calls each) need not wait for the send before them.
 * A read started for an item that is never asked for (a send before it failed) is dropped, its failure too.
 */
export function readAhead<T, R>(items: readonly T[], read: (item: T) => Promise<R>, ahead: number) {
  const started: Promise<R>[] = [];
  return (index: number): Promise<R> => {
    for (let i = index; i <= index + ahead && i < items.length; i++) {
      if (started[i] !== undefined) continue;
      const reading = read(items[i]!);
      reading.catch(() => undefined);
      started[i] = reading;
    }
    const reading = started[index];
    if (reading === undefined) throw new RangeError(`no item ${index} of ${items.length}`);
    return reading;
  };
}
