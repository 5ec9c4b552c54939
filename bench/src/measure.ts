import { lockMutexWorkflowId, type JournalEntry } from '@lockkeys/contracts';
import { mapLimit } from '@lockkeys/testing';
import type { BenchSession } from './bench-stack';
import { historyCost, runCost, scheduleToStart, startBreakdown, type History, type RunCost } from './history';
import { summarize, type Summary } from './stats';
import type { VariantName } from './variants';

/** The journals of `lockIds`, by lock. */
export async function journalsOf(session: BenchSession, lockIds: readonly number[]) {
  const journals = await mapLimit(lockIds, 16, (lockId) => session.stack.simulator.journal(lockId));
  return new Map<number, JournalEntry[]>(lockIds.map((lockId, i) => [lockId, journals[i]!]));
}

/** What the histories of a sample of runs (and their lock mutexes) say. */
export interface SampledHistories {
  cost: RunCost;
  workflowTaskScheduleToStartMs: Summary;
  activityScheduleToStartMs: Summary;
  mutexWorkflowTaskScheduleToStartMs: Summary;
  /** Where the time from POST (start) to the first command goes, per part (see `startBreakdown`). */
  startMs: Record<string, Summary>;
}

/** A sampled run: its workflow, its lock, when it was posted (epoch ms). */
export interface SampledRun {
  workflowId: string;
  lockId: number;
  postedAt: number;
}

/**
 * Fetches the histories of `runs` (workflow id and lock) and, for lockkeys, of the mutexes of their locks — call it
 * once the mutexes ended, so their histories are whole — and counts what they cost.
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
  const mutexHistories =
    variant === 'plain' ? [] : await mapLimit(runs, 8, ({ lockId }) => fetch(lockMutexWorkflowId(lockId)));
  const s2s = runHistories.map(scheduleToStart);
  const start: Record<string, number[]> = {};
  runs.forEach(({ lockId, postedAt }, i) => {
    const first = journals.get(lockId)?.[0];
    const parts = first && startBreakdown(runHistories[i]!, mutexHistories[i], postedAt, first.at);
    for (const [part, ms] of Object.entries(parts ?? {})) (start[part] ??= []).push(ms);
  });
  return {
    cost: runCost(runHistories.map(historyCost), mutexHistories.map(historyCost), keysPerRun),
    workflowTaskScheduleToStartMs: summarize(s2s.flatMap((s) => s.workflowTask)),
    activityScheduleToStartMs: summarize(s2s.flatMap((s) => s.activity)),
    mutexWorkflowTaskScheduleToStartMs: summarize(mutexHistories.flatMap((h) => scheduleToStart(h).workflowTask)),
    startMs: Object.fromEntries(Object.entries(start).map(([part, values]) => [part, summarize(values)])),
  };
}
