import { LockBackendFailureType, type KeySpec, type PutKeyBody } from '@lockkeys/contracts';

/** What the lock said when it took the key. */
export type PutKeyOutcome = 'created' | 'alreadyPresent';

/** A lock-backend answer that is not success, in the protocol's terms. */
export class LockBackendError extends Error {
  override name = 'LockBackendError';
  constructor(
    readonly type: LockBackendFailureType,
    message: string,
    /** HTTP status, or null when no answer came. */
    readonly httpStatus: number | null,
  ) {
    super(message);
  }
}

/** The lock backend (a vendor hub, or apps/lock-simulator): one command per key. */
export interface LockBackend {
  /** Writes `key` into slot `key.keyIndexNumber` of `lockId`; throws {@link LockBackendError} otherwise. */
  putKey(lockId: number, key: KeySpec, signal?: AbortSignal): Promise<PutKeyOutcome>;
}

export interface HttpLockBackendOptions {
  /** `LOCK_BACKEND_URL`, e.g. `http://127.0.0.1:3100`. */
  baseUrl: string;
  /** `LOCK_BACKEND_TOKEN`, sent as a bearer token. */
  token: string;
  /** Bound of one request, response included. */
  requestTimeoutMs: number;
}

const FAILURE_BY_STATUS: Record<number, LockBackendFailureType> = {
  404: LockBackendFailureType.LockNotFound,
  409: LockBackendFailureType.SlotOccupied,
  422: LockBackendFailureType.KeyIndexOutOfRange,
  429: LockBackendFailureType.LockBusy,
  503: LockBackendFailureType.LockOffline,
};

/** The lock-backend protocol over HTTP (SPEC "Lock backend"). */
export class HttpLockBackend implements LockBackend {
  private readonly baseUrl: string;

  constructor(private readonly options: HttpLockBackendOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
  }

  async putKey(lockId: number, key: KeySpec, signal?: AbortSignal): Promise<PutKeyOutcome> {
    const url = `${this.baseUrl}/locks/${lockId}/keys/${key.keyIndexNumber}`;
    const timeout = AbortSignal.timeout(this.options.requestTimeoutMs);
    let response: Response;
    try {
      response = await fetch(url, {
        method: 'PUT',
        headers: {
          authorization: `Bearer ${this.options.token}`,
          'content-type': 'application/json',
          // The lock dedupes on it: a retry of a command that was applied answers 200, not a second key.
          'idempotency-key': key.keyUuid,
        },
        body: JSON.stringify({ keyUuid: key.keyUuid, userId: key.userId } satisfies PutKeyBody),
        signal: signal ? AbortSignal.any([timeout, signal]) : timeout,
      });
    } catch (error) {
      const reason = timeout.aborted ? `no answer within ${this.options.requestTimeoutMs} ms` : describe(error);
      throw new LockBackendError(
        LockBackendFailureType.LockBackendUnreachable,
        `lock backend unreachable: ${reason}`,
        null,
      );
    }
    const text = await response.text().catch(() => '');
    if (response.status === 201) return 'created';
    if (response.status === 200) return 'alreadyPresent';
    const type = FAILURE_BY_STATUS[response.status] ?? LockBackendFailureType.LockBackendError;
    throw new LockBackendError(
      type,
      `lock backend answered ${response.status}: ${backendMessage(text)}`,
      response.status,
    );
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as Error & { cause?: unknown }).cause;
    return cause instanceof Error ? `${error.message} (${cause.message})` : error.message;
  }
  return String(error);
}

/** The backend's own `message`, short, or the start of its body. */
function backendMessage(text: string): string {
  try {
    const parsed = JSON.parse(text) as { message?: unknown };
    if (typeof parsed.message === 'string') return parsed.message.slice(0, 200);
  } catch {
    // not JSON: fall through to the raw text
  }
  return text.slice(0, 200) || '(empty body)';
}
