import { lockQueueWorkflowId, type JournalEntry } from '@lockkeys/contracts';
import { mapLimit, sleep } from '@lockkeys/testing';
import type { BenchSession } from './bench-stack';
import { historyCost, runCost, scheduleToStart, startBreakdown, type History, type RunCost } from './history';
import { summarize, type Summary } from './stats';
import type { VariantName } from './variants';

/** The journals of `lockIds`, by lock. */
export async function journalsOf(session: BenchSession, lockIds: readonly number[]) {
  const journals = await mapLimit(lockIds, 16, (lockId) => session.stack.simulator.journal(lockId));
  return new Map<number, JournalEntry[]>(lockIds.map((lockId, i) => [lockId, journals[i]!]));
}

/** What the histories of a sample of runs (and their locks' workflows) say. */
export interface SampledHistories {
  cost: RunCost;
  workflowTaskScheduleToStartMs: Summary;
  activityScheduleToStartMs: Summary;
  lockWorkflowTaskScheduleToStartMs: Summary;
  /** Where the time from POST (start) to the first command goes, per part (see `startBreakdown`). */
  startMs: Record<string, Summary>;
}

/**
 * A history once its workflow task is done: a lock's workflow handles a run's last signal after the run closed.
 * Gives up waiting after 10 s (and returns what there is).
 */
async function settled(fetch: () => Promise<History>): Promise<History> {
  for (const giveUpAt = Date.now() + 10_000; ;) {
    const history = await fetch();
    const last = history.events?.at(-1);
    const pending = last?.workflowTaskScheduledEventAttributes ?? last?.workflowTaskStartedEventAttributes;
    if (pending === undefined || Date.now() > giveUpAt) return history;
    await sleep(200);
  }
}

/** A sampled run: its workflow, its lock, when it was posted (epoch ms). */
export interface SampledRun {
  workflowId: string;
  lockId: number;
  postedAt: number;
}

/**
 * Fetches the histories of `runs` (workflow id and lock) and, for lockkeys, of their locks' workflows — call it once
 * every run closed, so the locks' part in them is whole — and counts what they cost.
 */
export async function sampleHistories(
  session: BenchSession,
  variant: VariantName,
  runs: readonly SampledRun[],
  keysPerRun: number,
  journals: ReadonlyMap<number, readonly JournalEntry[]>,
  histories: ReadonlyMap<string, History> = new Map(),
): Promise<SampledHistories> {
  const fetch = (workflowId: string) => session.client.workflow.getHandle(workflowId).fetchHistory();
  const runHistories = await mapLimit(
    runs,
    8,
    async ({ workflowId }) => histories.get(workflowId) ?? fetch(workflowId),
  );
  const lockHistories =
    variant === 'plain'
      ? []
      : await mapLimit(runs, 8, ({ lockId }) => settled(() => fetch(lockQueueWorkflowId(lockId))));
  const s2s = runHistories.map(scheduleToStart);
  const start: Record<string, number[]> = {};
  runs.forEach(({ lockId, postedAt }, i) => {
    const first = journals.get(lockId)?.[0];
    const parts = first && startBreakdown(runHistories[i]!, lockHistories[i], postedAt, first.at);
    for (const [part, ms] of Object.entries(parts ?? {})) (start[part] ??= []).push(ms);
  });
  return {
    cost: runCost(runHistories.map(historyCost), lockHistories.map(historyCost), keysPerRun),
    workflowTaskScheduleToStartMs: summarize(s2s.flatMap((s) => s.workflowTask)),
    activityScheduleToStartMs: summarize(s2s.flatMap((s) => s.activity)),
    lockWorkflowTaskScheduleToStartMs: summarize(lockHistories.flatMap((h) => scheduleToStart(h).workflowTask)),
    startMs: Object.fromEntries(Object.entries(start).map(([part, values]) => [part, summarize(values)])),
  };
}
