/**
 * Replays run histories against the current workflow code and exits non-zero on nondeterminism:
 *   npm run replay -- history.json            (exported with `temporal workflow show -w <id> -o json > history.json`)
 *   npm run replay -- --workflow-id <instanceId>   (every run of it, fetched from TEMPORAL_ADDRESS or TEMPORAL_PROFILE)
 *   npm run replay -- --query 'LockId = 123'       (every closed run that matches)
 */
import { Client, Connection, type HistoryAndWorkflowId } from '@temporalio/client';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { DefaultLogger, makeTelemetryFilterString, Runtime, Worker } from '@temporalio/worker';
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError, loadReplayConfig } from './config';
import { WORKFLOW_BUNDLE_PATH } from './worker';

const USAGE = `usage: npm run replay -- <history.json>... | --workflow-id <id> | --query '<visibility query>'`;

/** One replay's outcome. */
export interface ReplayOutcome {
  workflowId: string;
  error?: string;
}

/** Replays `histories` against the prebuilt workflow bundle. */
export async function replayHistories(
  histories: AsyncIterable<HistoryAndWorkflowId> | Iterable<HistoryAndWorkflowId>,
): Promise<ReplayOutcome[]> {
  const outcomes: ReplayOutcome[] = [];
  for await (const result of Worker.runReplayHistories(
    { workflowBundle: { codePath: WORKFLOW_BUNDLE_PATH } },
    histories,
  )) {
    outcomes.push({ workflowId: result.workflowId, ...(result.error ? { error: result.error.message } : {}) });
  }
  return outcomes;
}

async function fromFiles(files: string[]): Promise<HistoryAndWorkflowId[]> {
  return Promise.all(
    files.map(async (file) => ({
      workflowId: basename(file),
      history: historyFromJSON(JSON.parse(await readFile(file, 'utf8'))),
    })),
  );
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { 'workflow-id': { type: 'string' }, query: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
  });
  const sources = [positionals.length > 0, values['workflow-id'] !== undefined, values.query !== undefined].filter(
    Boolean,
  );
  if (values.help || sources.length !== 1) {
    process.stderr.write(`${USAGE}\n`);
    return values.help ? 0 : 2;
  }
  // The divergence is reported below, once per run; the SDK's own warnings would only repeat it.
  Runtime.install({
    logger: new DefaultLogger('ERROR'),
    telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'ERROR' }), forward: {} } },
  });

  let outcomes: ReplayOutcome[];
  if (positionals.length > 0) {
    outcomes = await replayHistories(await fromFiles(positionals));
  } else {
    const { temporal } = loadReplayConfig();
    const connection = await Connection.connect(temporal.connectionOptions);
    try {
      const client = new Client({ connection, namespace: temporal.namespace });
      const query = values.query ?? `WorkflowId = '${values['workflow-id']!.replaceAll("'", "\\'")}'`;
      // Runs still open are replayed too with --workflow-id (their history so far); --query takes closed ones.
      const scoped = values.query ? `(${query}) AND ExecutionStatus != 'Running'` : query;
      outcomes = await replayHistories(client.workflow.list({ query: scoped }).intoHistories());
    } finally {
      await connection.close();
    }
  }

  for (const outcome of outcomes) {
    process.stdout.write(
      outcome.error ? `FAIL ${outcome.workflowId}\n  ${outcome.error}\n` : `ok   ${outcome.workflowId}\n`,
    );
  }
  const failed = outcomes.filter((o) => o.error).length;
  process.stdout.write(`${outcomes.length - failed} replayed, ${failed} diverged\n`);
  if (outcomes.length === 0) {
    process.stderr.write('no history matched\n');
    return 1;
  }
  return failed > 0 ? 1 : 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      const lines =
        error instanceof ConfigError ? error.problems : [error instanceof Error ? error.message : String(error)];
      for (const line of lines) process.stderr.write(`replay: ${line}\n`);
      process.exit(2);
    },
  );
}
