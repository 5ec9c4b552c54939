import type { JournalEntry } from '@lockkeys/contracts';
import { journalGaps } from '@lockkeys/testing';

/** What the journals of one measured set of locks say about the contract. */
export interface JournalCheck {
  locks: number;
  commands: number;
  keysExpected: number;
  /** Keys the lock holds (a 201, or a 200 for a retry of an applied command). */
  keysAdded: number;
  /** Commands by the lock's answer. */
  statuses: Record<string, number>;
  /** Gaps between two commands to one lock under `gapMs`, any answer (SPEC counts them all); the first 20. */
  undersizedGaps: { lockId: number; gapMs: number }[];
  undersizedGapCount: number;
  /** Expected keys no command carried. */
  missing: string[];
  /** Keys that reached their lock more than once (a retry, or a duplicate), with the number of commands. */
  repeated: { keyUuid: string; commands: number }[];
  /** Commands for keys nobody sent in this set. */
  unexpected: number;
  /** True when every key arrived exactly once and no gap was short. */
  clean: boolean;
}

/**
 * Checks the journals of `expected` locks (lockId → the keyUuids sent to it): every key arrived exactly once (one
 * command), no gap between two commands to a lock under `gapMs`. Violations are listed, never dropped.
 */
export function checkJournals(
  journals: ReadonlyMap<number, readonly JournalEntry[]>,
  expected: ReadonlyMap<number, readonly string[]>,
  gapMs: number,
): JournalCheck {
  const statuses: Record<string, number> = {};
  const undersized: { lockId: number; gapMs: number }[] = [];
  const missing: string[] = [];
  const repeated: { keyUuid: string; commands: number }[] = [];
  let commands = 0;
  let keysExpected = 0;
  let keysAdded = 0;
  let unexpected = 0;
  for (const [lockId, keyUuids] of expected) {
    const journal = journals.get(lockId) ?? [];
    commands += journal.length;
    keysExpected += keyUuids.length;
    for (const c of journal) statuses[c.status] = (statuses[c.status] ?? 0) + 1;
    for (const gap of journalGaps(journal)) if (gap < gapMs) undersized.push({ lockId, gapMs: gap });
    const perKey = new Map<string, JournalEntry[]>();
    for (const c of journal) perKey.set(c.keyUuid, [...(perKey.get(c.keyUuid) ?? []), c]);
    for (const keyUuid of keyUuids) {
      const sent = perKey.get(keyUuid) ?? [];
      if (sent.length === 0) missing.push(keyUuid);
      if (sent.length > 1) repeated.push({ keyUuid, commands: sent.length });
      if (sent.some((c) => c.status === 201 || c.status === 200)) keysAdded++;
      perKey.delete(keyUuid);
    }
    for (const rest of perKey.values()) unexpected += rest.length;
  }
  return {
    locks: expected.size,
    commands,
    keysExpected,
    keysAdded,
    statuses,
    undersizedGaps: undersized.slice(0, 20),
    undersizedGapCount: undersized.length,
    missing,
    repeated,
    unexpected,
    clean: undersized.length === 0 && missing.length === 0 && repeated.length === 0 && unexpected === 0,
  };
}

/** One line for a table: "ok" or what broke. */
export function describeCheck(check: JournalCheck): string {
  if (check.clean) return 'ok';
  const problems = [
    check.undersizedGapCount > 0 && `${check.undersizedGapCount} gaps < gap`,
    check.missing.length > 0 && `${check.missing.length} keys missing`,
    check.repeated.length > 0 && `${check.repeated.length} keys sent more than once`,
    check.unexpected > 0 && `${check.unexpected} unexpected commands`,
  ].filter((p): p is string => typeof p === 'string');
  return `VIOLATED: ${problems.join(', ')}`;
}
