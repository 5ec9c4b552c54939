import { addedToAddedGaps, journalGaps, keyIndexes, keysFor, withTimeout } from '@lockkeys/testing';
import { describeTuning, log, withStack, type StackTuning } from './bench-stack';
import { gapBreakdown } from './history';
import type { Row } from './report';
import { summarize } from './stats';
import type { BenchOutcome } from './types';

export interface OverheadOptions {
  /** Keys per run (the issue: 20). */
  keys: number;
  /** Runs one after another, each on its own lock: more gaps, steadier percentiles. */
  rounds: number;
  gapMs: number;
  stack: StackTuning;
}

/**
 * Per-key overhead: one run of `keys` keys on one lock with the real gap; from the simulator's journal,
 * `gap − KEY_COMMAND_GAP_MS` between consecutive commands is what our machinery costs per key.
 */
export async function overheadBench(options: OverheadOptions): Promise<BenchOutcome> {
  const env = {
    LOG_LEVEL: 'warn',
    KEY_COMMAND_GAP_MS: String(options.gapMs),
    LOCK_SIM_MIN_GAP_MS: String(options.gapMs),
  };
  return withStack('overhead', env, options.stack, async (stack) => {
    const overheads: number[] = [];
    const firstCommand: number[] = [];
    const runMs: number[] = [];
    const parts: Record<string, number[]> = {};
    const designs = new Set<string>();
    const statuses: Record<string, number> = {};
    let undersizedGaps = 0;
    let roundsWithoutBreakdown = 0;
    const client = await stack.temporalClient();
    for (let round = 0; round < options.rounds; round++) {
      const lockId = 1 + round;
      const postedAt = Date.now();
      const { instanceId } = await stack.gateway.startRun(
        lockId,
        keysFor(lockId, keyIndexes(options.keys), 'overhead'),
      );
      const handle = client.workflow.getHandle(instanceId);
      const budgetMs = options.keys * options.gapMs * 3 + 30_000;
      await withTimeout(handle.result(), budgetMs, `run ${instanceId}`);
      const commands = await stack.simulator.journal(lockId);
      for (const c of commands) statuses[c.status] = (statuses[c.status] ?? 0) + 1;
      const added = new Set(commands.filter((c) => c.status === 201 || c.status === 200).map((c) => c.keyUuid));
      if (added.size !== options.keys) throw new Error(`lock ${lockId}: ${added.size} of ${options.keys} keys added`);
      // Every command counts for the contract, a refused one (429) included: it reached the lock too soon.
      undersizedGaps += journalGaps(commands).filter((g) => g < options.gapMs).length;
      const gaps = addedToAddedGaps(commands);
      overheads.push(...gaps.map((g) => g - options.gapMs));
      firstCommand.push(commands[0]!.at - postedAt);
      runMs.push(commands.at(-1)!.at - postedAt);
      const breakdown = gapBreakdown(await handle.fetchHistory(), commands, options.gapMs);
      if (breakdown) {
        designs.add(breakdown.design);
        for (const [part, values] of Object.entries(breakdown.parts)) (parts[part] ??= []).push(...values);
      } else {
        roundsWithoutBreakdown++;
      }
      log(
        `overhead: round ${round + 1}/${options.rounds}, lock ${lockId}: median overhead ${summarize(gaps).median - options.gapMs} ms`,
      );
    }

    const perKey = summarize(overheads);
    const design = designs.size === 1 ? [...designs][0] : undefined;
    const partsTitle =
      design === 'timer'
        ? 'of which (from the run history; parts add up to the overhead):'
        : design === 'activity'
          ? 'the whole gap (addKey waits the gap itself; parts add up to the gap):'
          : 'no breakdown (retries or mixed designs)';
    const idealRunMs = (options.keys - 1) * options.gapMs;
    const refused = Object.entries(statuses).filter(([code]) => code !== '201' && code !== '200');
    const rows: Row[] = [
      { metric: 'gap − KEY_COMMAND_GAP_MS (201 → 201)', unit: 'ms', summary: perKey },
      { metric: partsTitle, unit: '' },
      ...Object.entries(design ? parts : {}).map(([part, values]) => ({
        metric: `  ${part}`,
        unit: 'ms',
        summary: summarize(values),
      })),
      { metric: 'POST → first command at the lock', unit: 'ms', summary: summarize(firstCommand) },
      { metric: `POST → last command (ideal ${idealRunMs})`, unit: 'ms', summary: summarize(runMs) },
      {
        metric: 'commands by answer',
        unit: 'count',
        value: Object.entries(statuses)
          .map(([code, n]) => `${code}×${n}`)
          .join(', '),
      },
      { metric: 'gaps under KEY_COMMAND_GAP_MS (any answer)', unit: 'count', value: undersizedGaps },
    ];
    return {
      name: 'overhead',
      title: `Overhead per key: ${options.rounds} × (1 lock, ${options.keys} keys), KEY_COMMAND_GAP_MS=${options.gapMs}`,
      rows,
      notes: [
        `target median ≤ 15 ms: ${perKey.median <= 15 ? 'met' : 'MISSED'} (${perKey.median} ms); target p99 ≤ 80 ms: ${perKey.p99 <= 80 ? 'met' : 'MISSED'} (${perKey.p99} ms)`,
        undersizedGaps === 0 && refused.length === 0
          ? 'no gap under KEY_COMMAND_GAP_MS, no command refused'
          : `CONTRACT BROKEN: ${undersizedGaps} gaps under KEY_COMMAND_GAP_MS; refused commands ${refused.map(([c, n]) => `${c}×${n}`).join(', ') || 'none'}`,
        ...(roundsWithoutBreakdown > 0 ? [`${roundsWithoutBreakdown} rounds had retries: no breakdown for them`] : []),
      ],
      figures: {
        options: { ...options, stack: describeTuning(options.stack) },
        gapDesign: design ?? [...designs],
        overheadMs: perKey,
        overheadSamplesMs: overheads,
        breakdownMs: Object.fromEntries(Object.entries(parts).map(([part, values]) => [part, summarize(values)])),
        postToFirstCommandMs: summarize(firstCommand),
        postToLastCommandMs: summarize(runMs),
        commandStatuses: statuses,
        undersizedGaps,
      },
    };
  });
}
