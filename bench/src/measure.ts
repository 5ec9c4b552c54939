import { lockMutexWorkflowId, type JournalEntry } from '@lockkeys/contracts';
import { mapLimit } from '@lockkeys/testing';
import type { BenchSession } from './bench-stack';
import { historyCost, runCost, scheduleToStart, type History, type RunCost } from './history';
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
}

/**
 * Fetches the histories of `runs` (workflow id and lock) and, for lockkeys, of the mutexes of their locks — call it
 * once the mutexes ended, so their histories are whole — and counts what they cost.
 */
export async function sampleHistories(
  session: BenchSession,
  variant: VariantName,
  runs: readonly { workflowId: string; lockId: number }[],
  keysPerRun: number,
  histories: Map<string, History> = new Map(),
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
  return {
    cost: runCost(runHistories.map(historyCost), mutexHistories.map(historyCost), keysPerRun),
    workflowTaskScheduleToStartMs: summarize(s2s.flatMap((s) => s.workflowTask)),
    activityScheduleToStartMs: summarize(s2s.flatMap((s) => s.activity)),
    mutexWorkflowTaskScheduleToStartMs: summarize(mutexHistories.flatMap((h) => scheduleToStart(h).workflowTask)),
  };
}
