import { addedToAddedGaps, keyIndexes, keysFor, withTimeout } from '@lockkeys/testing';
import { GAP_MS, log, WITH_DESCENDANTS, type BenchSession } from './bench-stack';
import { checkJournals, describeCheck, type JournalCheck } from './checks';
import { cpuSplit, type CpuSplit } from './cost';
import { gapBreakdown, type History } from './history';
import { journalsOf, sampleHistories, type SampledHistories, type SampledRun } from './measure';
import { ProcessSampler } from './proc';
import { summarize, type Summary } from './stats';
import type { VariantName } from './variants';

export interface OverheadOptions {
  /** Keys per run (the issue: 20). */
  keys: number;
  /** Runs one after another, each on its own lock: more gaps, steadier percentiles. */
  rounds: number;
  variants: VariantName[];
}

/** One variant's per-key overhead. */
export interface OverheadResult {
  variant: VariantName;
  keys: number;
  rounds: number;
  /** Gap at the lock between two added keys minus KEY_COMMAND_GAP_MS (the plain peer sleeps the same). */
  overheadMs: Summary;
  overheadSamplesMs: number[];
  /** Where each gap's overhead goes (parts add up to it), from the histories. */
  breakdownMs: Record<string, Summary>;
  /** How the keys' `addKey` ran, counted from the histories. */
  addKeyKinds: { local: number; remote: number };
  roundsWithoutBreakdown: number;
  postToFirstCommandMs: Summary;
  postToLastCommandMs: Summary;
  check: JournalCheck;
  histories: SampledHistories;
  cpu: CpuSplit;
  /** Locks' workflows ended after the variant (lockkeys). */
  locksEnded?: number;
}

/** `rounds` runs of `keys` keys, each alone on its own lock, one after another. */
export async function overheadOnce(
  session: BenchSession,
  variant: VariantName,
  options: OverheadOptions,
): Promise<OverheadResult> {
  return session.withWorkers(variant, async (workers) => {
    const lockIds = session.nextLockIds(options.rounds);
    const sent = new Map(lockIds.map((lockId) => [lockId, keysFor(lockId, keyIndexes(options.keys), variant)]));
    const sampler = new ProcessSampler(session.pids(workers), WITH_DESCENDANTS);
    const runs: SampledRun[] = [];
    const histories = new Map<string, History>();
    for (const lockId of lockIds) {
      const postedAt = Date.now();
      const workflowId = await session.startRun(variant, lockId, sent.get(lockId)!);
      runs.push({ workflowId, lockId, postedAt });
      const handle = session.client.workflow.getHandle(workflowId);
      await withTimeout(handle.result(), options.keys * GAP_MS * 3 + 30_000, `run ${workflowId}`);
      histories.set(workflowId, await handle.fetchHistory());
    }
    const processes = sampler.stop();
    const journals = await journalsOf(session, lockIds);
    const check = checkJournals(
      journals,
      new Map([...sent].map(([lockId, keys]) => [lockId, keys.map((k) => k.keyUuid)])),
      GAP_MS,
    );

    const overheads: number[] = [];
    const parts: Record<string, number[]> = {};
    const kinds = { local: 0, remote: 0 };
    let roundsWithoutBreakdown = 0;
    for (const { workflowId, lockId } of runs) {
      const journal = journals.get(lockId)!;
      overheads.push(...addedToAddedGaps(journal).map((g) => g - GAP_MS));
      const breakdown = gapBreakdown(histories.get(workflowId)!, journal, GAP_MS);
      if (breakdown === undefined) {
        roundsWithoutBreakdown++;
        continue;
      }
      kinds.local += breakdown.kinds.local;
      kinds.remote += breakdown.kinds.remote;
      for (const [part, values] of Object.entries(breakdown.parts)) (parts[part] ??= []).push(...values);
    }
    const sampled = await sampleHistories(session, variant, runs, options.keys, journals, histories);
    const locksEnded = variant === 'plain' ? undefined : await session.endLockWorkflows();
    const firstAndLast = runs.map(({ lockId, postedAt: posted }) => {
      const journal = journals.get(lockId)!;
      return [
        journal[0] ? journal[0].at - posted : Number.NaN,
        journal.at(-1) ? journal.at(-1)!.at - posted : Number.NaN,
      ];
    });
    const result: OverheadResult = {
      variant,
      keys: options.keys,
      rounds: options.rounds,
      overheadMs: summarize(overheads),
      overheadSamplesMs: overheads,
      breakdownMs: Object.fromEntries(Object.entries(parts).map(([part, values]) => [part, summarize(values)])),
      addKeyKinds: kinds,
      roundsWithoutBreakdown,
      postToFirstCommandMs: summarize(firstAndLast.map(([first]) => first!)),
      postToLastCommandMs: summarize(firstAndLast.map(([, last]) => last!)),
      check,
      histories: sampled,
      cpu: cpuSplit(processes, check.keysAdded),
      ...(locksEnded && { locksEnded: locksEnded.ended }),
    };
    log(
      `${session.engine} overhead ${variant}: median ${result.overheadMs.median} ms, p99 ${result.overheadMs.p99} ms, journal ${describeCheck(check)}`,
    );
    return result;
  });
}

export async function overheadBench(session: BenchSession, options: OverheadOptions): Promise<OverheadResult[]> {
  const results: OverheadResult[] = [];
  for (const variant of options.variants) results.push(await overheadOnce(session, variant, options));
  return results;
}
