import {
  DEV_LOCK_BACKEND_TOKEN,
  errorBodySchema,
  faultViewSchema,
  lockJournalBodySchema,
  lockResetBodySchema,
  lockSlotsBodySchema,
  putKeyAnswerSchema,
  type ErrorBody,
  type FaultUpdate,
  type FaultView,
  type JournalEntry,
  type LockResetBody,
  type LockSlot,
  type PutKeyAnswer,
  type PutKeyBody,
} from '@lockkeys/contracts';
import { send, type RawAnswer } from './http';
import { eventually } from './polling';

/** The simulator's answer to an add-key command. */
export interface PutKeyResponse {
  status: number;
  body: PutKeyAnswer | ErrorBody;
}

/** Parses `answer.body` with `schema`; a body that breaks the lock-backend contract fails the test with it. */
function parsed<T>(schema: { parse(value: unknown): T }, answer: RawAnswer, what: string): T {
  try {
    return schema.parse(answer.body);
  } catch (error) {
    throw new Error(`${what}: the simulator answered ${answer.status} ${answer.text.slice(0, 500)}: ${String(error)}`);
  }
}

/**
 * A client of the lock simulator's operator side (SPEC "Lock backend"): the journal, the slots, fault injection and
 * reset, every answer checked against the contract's schemas. Token: the dev `LOCK_BACKEND_TOKEN`.
 */
export class SimulatorClient {
  constructor(
    readonly baseUrl: string,
    private readonly token = DEV_LOCK_BACKEND_TOKEN,
  ) {}

  private async call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
    return send(this.baseUrl, {
      method,
      path,
      headers: {
        authorization: `Bearer ${this.token}`,
        ...(body !== undefined && { 'content-type': 'application/json' }),
        ...headers,
      },
      ...(body !== undefined && { body: JSON.stringify(body) }),
      timeoutMs: 30_000,
    });
  }

  private async ok(method: string, path: string, body?: unknown): Promise<RawAnswer> {
    const answer = await this.call(method, path, body);
    if (answer.status !== 200) throw new Error(`simulator ${method} ${path}: ${answer.status} ${answer.text}`);
    return answer;
  }

  /** Every command the lock received, in receive order (`since`: only those received at or after, epoch ms). */
  async journal(lockId: number, since?: number): Promise<JournalEntry[]> {
    const path = `/locks/${lockId}/commands${since === undefined ? '' : `?since=${since}`}`;
    return parsed(lockJournalBodySchema, await this.ok('GET', path), `journal of lock ${lockId}`).commands;
  }

  /** The lock's slots as they are, ordered by index. */
  async slots(lockId: number): Promise<LockSlot[]> {
    return parsed(lockSlotsBodySchema, await this.ok('GET', `/locks/${lockId}/keys`), `slots of lock ${lockId}`).keys;
  }

  /** Fault injection in force (the seed included). */
  async faults(): Promise<FaultView> {
    return parsed(faultViewSchema, await this.ok('GET', '/faults'), 'faults');
  }

  /** Changes fault injection (fields left out keep their value); returns the settings now in force. */
  async setFaults(update: FaultUpdate): Promise<FaultView> {
    return parsed(faultViewSchema, await this.ok('PUT', '/faults', update), 'PUT /faults');
  }

  /** Empties the lock's slots and journal. */
  async reset(lockId: number): Promise<LockResetBody> {
    return parsed(lockResetBodySchema, await this.ok('DELETE', `/locks/${lockId}`), `reset of lock ${lockId}`);
  }

  /** One add-key command, as the activities send it (e.g. to put someone else's key in a slot first). */
  async putKey(lockId: number, keyIndexNumber: number, key: PutKeyBody): Promise<PutKeyResponse> {
    const answer = await this.call('PUT', `/locks/${lockId}/keys/${keyIndexNumber}`, key, {
      'idempotency-key': key.keyUuid,
    });
    const what = `PUT key ${keyIndexNumber} of lock ${lockId}`;
    const added = answer.status === 200 || answer.status === 201;
    return {
      status: answer.status,
      body: added ? parsed(putKeyAnswerSchema, answer, what) : parsed(errorBodySchema, answer, what),
    };
  }

  /** Waits until the journals of `lockIds` hold at least `count` commands in all: a batch is in flight. */
  async waitForCommands(lockIds: readonly number[], count: number, timeoutMs = 60_000): Promise<JournalEntry[]> {
    return eventually(
      async () => {
        const commands = (await Promise.all(lockIds.map((lockId) => this.journal(lockId)))).flat();
        return commands.length >= count ? commands : undefined;
      },
      timeoutMs,
      `${count} commands to lock${lockIds.length === 1 ? '' : 's'} ${lockIds.join(', ')}`,
    );
  }
}

/** Gaps between consecutive commands of one lock's journal, whatever their answers (SPEC's gap counts them all). */
export const journalGaps = (commands: readonly JournalEntry[]): number[] =>
  commands.slice(1).map((c, i) => c.at - commands[i]!.at);

/** Gaps between two consecutive commands both answered 201: the normal path, without retries. */
export const addedToAddedGaps = (commands: readonly JournalEntry[]): number[] =>
  commands
    .slice(1)
    .flatMap((c, i) => (c.status === 201 && commands[i]!.status === 201 ? [c.at - commands[i]!.at] : []));
