import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { JournalEntry, LockSlot } from '@lockkeys/contracts';
import Database from 'better-sqlite3';

/** A journal entry to append, for one lock. */
export interface NewJournalEntry {
  lockId: number;
  at: number;
  keyIndexNumber: number;
  keyUuid: string;
  status: number;
  dropped: boolean;
}

/** SQLite-backed state of every simulated lock: its slots and its command journal. */
export interface LockStore {
  /** Runs `work` in one SQLite transaction (all or nothing). */
  transaction<T>(work: () => T): T;
  /** Receive time of the lock's latest journaled command, if any. */
  latestCommandAt(lockId: number): number | undefined;
  findKey(lockId: number, keyIndexNumber: number): LockSlot | undefined;
  insertKey(lockId: number, key: LockSlot): void;
  appendCommand(entry: NewJournalEntry): void;
  /** The lock's slots, ordered by index. */
  listKeys(lockId: number): LockSlot[];
  /** The lock's journal in receive order, optionally only entries received at or after `since` (epoch ms). */
  listCommands(lockId: number, since?: number): JournalEntry[];
  /** Empties the lock's slots and journal; returns how many rows went. */
  resetLock(lockId: number): { keys: number; commands: number };
  close(): void;
}

interface JournalRow {
  at: number;
  key_index_number: number;
  key_uuid: string;
  status: number;
  dropped: number;
}

interface KeyRow {
  key_index_number: number;
  key_uuid: string;
  user_id: string;
  added_at: number;
}

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS slots (
    lock_id INTEGER NOT NULL,
    key_index_number INTEGER NOT NULL,
    key_uuid TEXT NOT NULL,
    user_id TEXT NOT NULL,
    added_at INTEGER NOT NULL,
    PRIMARY KEY (lock_id, key_index_number)
  ) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS commands (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    lock_id INTEGER NOT NULL,
    at INTEGER NOT NULL,
    key_index_number INTEGER NOT NULL,
    key_uuid TEXT NOT NULL,
    status INTEGER NOT NULL,
    dropped INTEGER NOT NULL DEFAULT 0
  );
  CREATE INDEX IF NOT EXISTS commands_by_lock ON commands (lock_id, at, id);
`;

const toKey = (row: KeyRow): LockSlot => ({
  keyIndexNumber: row.key_index_number,
  keyUuid: row.key_uuid,
  userId: row.user_id,
  addedAt: row.added_at,
});

const toJournalEntry = (row: JournalRow): JournalEntry => {
  const entry: JournalEntry = {
    at: row.at,
    keyIndexNumber: row.key_index_number,
    keyUuid: row.key_uuid,
    status: row.status,
  };
  if (row.dropped) entry.dropped = true;
  return entry;
};

/** Opens (and creates if needed) the store at `dbPath`, or an in-memory one for `:memory:`. */
export function openLockStore(dbPath: string): LockStore {
  const inMemory = dbPath === ':memory:';
  if (!inMemory) mkdirSync(dirname(dbPath), { recursive: true });
  const db = new Database(dbPath);
  try {
    // WAL lets readers (an operator's sqlite3 shell) look while the simulator writes.
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('busy_timeout = 5000');
    db.exec(SCHEMA);
  } catch (error) {
    db.close();
    throw error;
  }

  const statements = {
    latestCommandAt: db.prepare<[number], { at: number | null }>(
      'SELECT MAX(at) AS at FROM commands WHERE lock_id = ?',
    ),
    findKey: db.prepare<[number, number], KeyRow>(
      'SELECT key_index_number, key_uuid, user_id, added_at FROM slots WHERE lock_id = ? AND key_index_number = ?',
    ),
    insertKey: db.prepare<[number, number, string, string, number]>(
      'INSERT INTO slots (lock_id, key_index_number, key_uuid, user_id, added_at) VALUES (?, ?, ?, ?, ?)',
    ),
    appendCommand: db.prepare<[number, number, number, string, number, number]>(
      'INSERT INTO commands (lock_id, at, key_index_number, key_uuid, status, dropped) VALUES (?, ?, ?, ?, ?, ?)',
    ),
    listKeys: db.prepare<[number], KeyRow>(
      'SELECT key_index_number, key_uuid, user_id, added_at FROM slots WHERE lock_id = ? ORDER BY key_index_number',
    ),
    listCommands: db.prepare<[number, number], JournalRow>(
      'SELECT at, key_index_number, key_uuid, status, dropped FROM commands WHERE lock_id = ? AND at >= ? ORDER BY at, id',
    ),
    deleteKeys: db.prepare<[number]>('DELETE FROM slots WHERE lock_id = ?'),
    deleteCommands: db.prepare<[number]>('DELETE FROM commands WHERE lock_id = ?'),
  };

  return {
    transaction: (work) => db.transaction(work)(),
    latestCommandAt: (lockId) => statements.latestCommandAt.get(lockId)?.at ?? undefined,
    findKey: (lockId, keyIndexNumber) => {
      const row = statements.findKey.get(lockId, keyIndexNumber);
      return row ? toKey(row) : undefined;
    },
    insertKey: (lockId, key) => {
      statements.insertKey.run(lockId, key.keyIndexNumber, key.keyUuid, key.userId, key.addedAt);
    },
    appendCommand: (entry) => {
      statements.appendCommand.run(
        entry.lockId,
        entry.at,
        entry.keyIndexNumber,
        entry.keyUuid,
        entry.status,
        entry.dropped ? 1 : 0,
      );
    },
    listKeys: (lockId) => statements.listKeys.all(lockId).map(toKey),
    listCommands: (lockId, since = 0) => statements.listCommands.all(lockId, since).map(toJournalEntry),
    resetLock: (lockId) =>
      db.transaction(() => ({
        keys: statements.deleteKeys.run(lockId).changes,
        commands: statements.deleteCommands.run(lockId).changes,
      }))(),
    close: () => {
      if (db.open) db.close();
    },
  };
}
