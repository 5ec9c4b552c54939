import { tmpdir } from 'node:os';
import { withTestStack, type TestStack } from '@lockkeys/testing';

export const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);

/** How the Temporal dev server of a bench stack keeps its SQLite file (to tell disk cost from our own). */
export interface StackTuning {
  /** Parent of the temp data dir (default: the OS temp dir; `/dev/shm` takes the disk out of the picture). */
  dataRoot?: string;
  /** `--sqlite-pragma NAME=VALUE` for the dev server (e.g. `journal_mode=wal`, `synchronous=normal`). */
  sqlitePragmas: string[];
}

/** The tuning, as recorded in every result file. */
export const describeTuning = (tuning: StackTuning) => ({
  dataRoot: tuning.dataRoot ?? tmpdir(),
  sqlitePragmas: tuning.sqlitePragmas,
});

/**
 * Starts a whole stack of the bench's own, runs `body`, and always stops the stack (each service by its pid) and
 * deletes its data dir — also on failure (after printing each service's last lines) and on Ctrl-C.
 */
export async function withStack<T>(
  label: string,
  env: NodeJS.ProcessEnv,
  tuning: StackTuning,
  body: (stack: TestStack) => Promise<T>,
): Promise<T> {
  const startedAt = Date.now();
  return withTestStack(
    {
      name: `bench-${label}`,
      clientName: 'bench',
      env,
      temporalArgs: tuning.sqlitePragmas.flatMap((pragma) => ['--sqlite-pragma', pragma]),
      ...(tuning.dataRoot !== undefined && { dataRoot: tuning.dataRoot }),
    },
    async (stack) => {
      const seconds = ((Date.now() - startedAt) / 1000).toFixed(1);
      log(`${label}: stack up in ${seconds} s (Temporal on ${stack.temporalAddress})`);
      return body(stack);
    },
    log,
  );
}
