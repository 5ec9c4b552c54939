import {
  BULK_ADD_KEYS_WORKFLOW,
  CLOSED_RUN_STATUSES,
  LOCK_ID_SEARCH_ATTRIBUTE,
  MEMO_SUMMARY,
  ORG_ID_SEARCH_ATTRIBUTE,
  type RunListItem,
  type RunSummary,
} from '@lockkeys/contracts';
import { CLOSED_STATUS, createdAtOf, RUNNING, timestampOf, type RunRecord } from '@lockkeys/run-status';
import { ListingCursors, type ListingPosition, type ListingScope } from './cursor';
import type { RunStatusReader } from './run-status';
import type { RunService } from './runs';
import type { TemporalSession } from './temporal-client';

/** The visibility clause of a closed status filter. */
const CLOSED_FILTER: Record<string, string> = {
  complete: "ExecutionStatus = 'Completed'",
  cancelled: "ExecutionStatus = 'Canceled'",
  terminated: "ExecutionStatus = 'Terminated'",
  errored: "(ExecutionStatus = 'Failed' OR ExecutionStatus = 'TimedOut')",
};

const quoted = (text: string) => `'${text.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;

/**
 * `RunService.list`, from Temporal's visibility alone: `LockId = … AND OrgId = '…'`, newest first as visibility
 * orders it (open runs, then by closing time). Closed entries need nothing but the listing (their summary is in
 * the memo); open ones say where they stand. Cursors are signed with a key derived from `cursorKey`.
 */
export function createListing(
  session: TemporalSession,
  runs: RunStatusReader,
  cursorKey: ConstructorParameters<typeof ListingCursors>[0],
): RunService['list'] {
  const { connection, namespace, call, decode } = session;
  const cursors = new ListingCursors(cursorKey);

  /** A listing entry: closed runs from visibility alone (their summary is in the memo), open ones as they stand. */
  async function listItem(run: RunRecord): Promise<RunListItem> {
    const summary = run.memo[MEMO_SUMMARY] as RunSummary | undefined;
    if (run.status !== RUNNING && summary !== undefined) {
      return {
        instanceId: run.instanceId,
        lockId: run.lockId,
        status: CLOSED_STATUS[run.status] ?? 'errored',
        createdAt: createdAtOf(run),
        closedAt: run.closeTime?.toISOString() ?? null,
        summary,
      };
    }
    const { keys: _keys, ...item } = await runs.statusBody(run);
    return item;
  }

  /** One page of visibility, newest first as Temporal orders it (open runs, then by closing time). */
  async function visibilityPage(query: string, pageSize: number, lockId: number, token?: string) {
    const response = await call(() =>
      connection.workflowService.listWorkflowExecutions({
        namespace,
        query,
        pageSize,
        ...(token !== undefined && { nextPageToken: Buffer.from(token, 'base64url') }),
      }),
    );
    const page: RunRecord[] = (response.executions ?? []).map((execution) => ({
      instanceId: execution.execution?.workflowId ?? '',
      lockId,
      status: execution.status ?? RUNNING,
      startTime: timestampOf(execution.startTime) ?? new Date(0),
      closeTime: timestampOf(execution.closeTime),
      memo: Object.fromEntries(
        Object.entries(execution.memo?.fields ?? {}).map(([name, payload]) => [name, decode(payload)]),
      ),
    }));
    const next = response.nextPageToken?.length ? Buffer.from(response.nextPageToken).toString('base64url') : undefined;
    return { runs: page, next };
  }

  async function openRuns(scopeQuery: string, lockId: number): Promise<RunRecord[]> {
    const open: RunRecord[] = [];
    let token: string | undefined;
    do {
      const page = await visibilityPage(`${scopeQuery} AND ExecutionStatus = 'Running'`, 100, lockId, token);
      open.push(...page.runs);
      token = page.next;
    } while (token !== undefined && open.length < 10_000);
    return open;
  }

  return async ({ lockId, orgId, status, limit, cursor }) => {
    const scope: ListingScope = { orgId, lockId, status };
    const position: ListingPosition | undefined = cursor === undefined ? undefined : cursors.read(cursor, scope);
    const scopeQuery =
      `WorkflowType = '${BULK_ADD_KEYS_WORKFLOW}' AND ${LOCK_ID_SEARCH_ATTRIBUTE} = ${lockId} AND ` +
      `${ORG_ID_SEARCH_ATTRIBUTE} = ${quoted(orgId)} AND ExecutionStatus != 'ContinuedAsNew'`;

    if (status === undefined || CLOSED_RUN_STATUSES.includes(status)) {
      const query = status === undefined ? scopeQuery : `${scopeQuery} AND ${CLOSED_FILTER[status]}`;
      const token = position !== undefined && 'token' in position ? position.token : undefined;
      const page = await visibilityPage(query, limit, lockId, token);
      // Visibility hands out a token after every full page, even the last: look before promising a next page.
      const more = page.next !== undefined && (await visibilityPage(query, 1, lockId, page.next)).runs.length > 0;
      return {
        runs: await Promise.all(page.runs.map(listItem)),
        nextCursor: more && page.next !== undefined ? cursors.write(scope, { token: page.next }) : null,
      };
    }
    // queued / running / paused are what open runs say of themselves: at most a lock's bound of them, read whole.
    const open = await openRuns(scopeQuery, lockId);
    const items = (await Promise.all(open.map(listItem))).filter((i) => i.status === status);
    const offset = position !== undefined && 'offset' in position ? position.offset : 0;
    return {
      runs: items.slice(offset, offset + limit),
      nextCursor: offset + limit < items.length ? cursors.write(scope, { offset: offset + limit }) : null,
    };
  };
}
