import type { Row } from './report';

/** What one benchmark hands back: a printed table and the figures for its JSON file. */
export interface BenchOutcome {
  /** File name stem in `bench/results/` (e.g. `fanout-200`). */
  name: string;
  title: string;
  rows: Row[];
  /** Lines printed under the table (verdicts against the targets, notes). */
  notes: string[];
  /** Everything measured, for the JSON file. */
  figures: Record<string, unknown>;
}
