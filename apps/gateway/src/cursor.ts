import { createHmac, timingSafeEqual, type KeyObject } from 'node:crypto';
import type { RunStatus } from '@lockkeys/contracts';
import { InvalidCursorError } from './runs';

/** What a listing page was for: a cursor is good for the same lock, organization and status filter only. */
export interface ListingScope {
  orgId: string;
  lockId: number;
  status: RunStatus | undefined;
}

/** Where the next page starts: Temporal's visibility page token, or an offset into the open runs. */
export type ListingPosition = { token: string } | { offset: number };

interface CursorBody {
  v: 1;
  o: string;
  l: number;
  s: RunStatus | null;
  p: ListingPosition;
}

/**
 * Opaque listing cursors: the position of the next page and the scope it was made for, signed with a key derived
 * from the gateway's JWT key (so every replica with the same configuration reads every other's cursors). A forged,
 * truncated or altered cursor, or one of another organization, lock or filter, is {@link InvalidCursorError}: the
 * query sent to Temporal is always built from the caller's own credentials, never from the cursor alone.
 */
export class ListingCursors {
  private readonly key: Buffer;

  constructor(jwtKey: KeyObject) {
    const material = jwtKey.type === 'secret' ? jwtKey.export() : jwtKey.export({ type: 'spki', format: 'der' });
    this.key = createHmac('sha256', material).update('lockkeys listing cursor v1').digest();
  }

  write(scope: ListingScope, position: ListingPosition): string {
    const body: CursorBody = { v: 1, o: scope.orgId, l: scope.lockId, s: scope.status ?? null, p: position };
    const encoded = Buffer.from(JSON.stringify(body)).toString('base64url');
    return `${encoded}.${this.sign(encoded)}`;
  }

  read(cursor: string, scope: ListingScope): ListingPosition {
    const [encoded, signature, extra] = cursor.split('.');
    if (encoded === undefined || signature === undefined || extra !== undefined) throw invalid();
    const expected = Buffer.from(this.sign(encoded));
    const given = Buffer.from(signature);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw invalid();
    const body = JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8')) as CursorBody;
    if (body.v !== 1 || body.o !== scope.orgId || body.l !== scope.lockId || body.s !== (scope.status ?? null)) {
      throw invalid();
    }
    return body.p;
  }

  private sign(encoded: string): string {
    return createHmac('sha256', this.key).update(encoded).digest('base64url');
  }
}

const invalid = () => new InvalidCursorError('cursor is not one this gateway gave for this listing');
