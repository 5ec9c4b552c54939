import { z } from 'zod';
import { keyText } from './run';

/**
 * The lock backend's protocol (SPEC "Lock backend"), as the simulator serves it and the activities and tests
 * call it: the add-key command, the slots and journal a lock shows, and the simulator's fault injection.
 */

/** Body of `PUT /locks/{lockId}/keys/{keyIndexNumber}` (the slot is in the path; `Idempotency-Key` repeats `keyUuid`). */
export const putKeyBodySchema = z.object(
  {
    keyUuid: keyText('keyUuid', 'Identifier of the key; also the Idempotency-Key of the command.'),
    userId: keyText('userId', 'User the key belongs to.'),
  },
  { error: 'Request body must be a JSON object with keyUuid and userId' },
);
export type PutKeyBody = z.infer<typeof putKeyBodySchema>;

const epochMs = z.number().int().min(0);

/** A key sitting in one slot of a lock (`GET /locks/{lockId}/keys`, and the body of a `201`/`200` answer). */
export const lockSlotSchema = z.object({
  keyIndexNumber: z.number().int().min(0),
  keyUuid: z.string(),
  userId: z.string(),
  /** Epoch ms when the command that wrote it was received. */
  addedAt: epochMs,
});
export type LockSlot = z.infer<typeof lockSlotSchema>;

/** One command a lock received, as its journal shows it (`GET /locks/{lockId}/commands`). */
export const journalEntrySchema = z.object({
  /** Epoch ms when the command was received. */
  at: epochMs,
  /** As sent: an index out of range (even negative) is journaled with its `422`. */
  keyIndexNumber: z.number().int(),
  keyUuid: z.string(),
  /** The answer: 201, 200, 404, 409, 422, 429 or 503. */
  status: z.number().int(),
  /** Present when the command was applied but its reply was never sent. */
  dropped: z.literal(true).optional(),
});
export type JournalEntry = z.infer<typeof journalEntrySchema>;

/** Answer of `PUT /locks/{lockId}/keys/{keyIndexNumber}` with `201` (added) or `200` (the same key already there). */
export const putKeyAnswerSchema = lockSlotSchema.extend({ lockId: z.number().int().positive() });
export type PutKeyAnswer = z.infer<typeof putKeyAnswerSchema>;

/** Body of `GET /locks/{lockId}/keys`: the slots, ordered by index. */
export const lockSlotsBodySchema = z.object({ lockId: z.number().int().positive(), keys: z.array(lockSlotSchema) });
export type LockSlotsBody = z.infer<typeof lockSlotsBodySchema>;

/** Body of `GET /locks/{lockId}/commands`: the journal in receive order. */
export const lockJournalBodySchema = z.object({
  lockId: z.number().int().positive(),
  commands: z.array(journalEntrySchema),
});
export type LockJournalBody = z.infer<typeof lockJournalBodySchema>;

/** Body of `DELETE /locks/{lockId}`: how many slots and journal entries went. */
export const lockResetBodySchema = z.object({
  lockId: z.number().int().positive(),
  removedKeys: z.number().int().min(0),
  removedCommands: z.number().int().min(0),
});
export type LockResetBody = z.infer<typeof lockResetBodySchema>;

// Upper bound for delays, so a typo cannot park commands for days.
const MAX_FAULT_DELAY_MS = 600_000;
const rate = z.number().min(0, 'must be at least 0').max(1, 'must be at most 1');
const faultLockId = z.number().int('must be an integer').min(1, 'must be at least 1').max(Number.MAX_SAFE_INTEGER);

/** The simulator's fault injection: what its locks do wrong, and how often (its config, and `GET /faults`). */
export const faultSettingsSchema = z.strictObject({
  /** Fraction (0..1) of commands answered `503` on purpose. */
  failureRate: rate,
  /** Delay added before a command is decided, in ms. */
  latencyMs: z.number().int('must be an integer').min(0, 'must be at least 0').max(MAX_FAULT_DELAY_MS),
  /** Fraction (0..1) of commands that get `latencyMs`. */
  slowRate: rate,
  /** Fraction (0..1) of commands applied and journaled whose reply is never sent. */
  dropRate: rate,
  /** Lock ids that answer every command with `503`. */
  offlineLocks: z.array(faultLockId),
  /** Seed of the fault PRNG; unset picks a random one. */
  seed: z.string().min(1, 'must not be empty').max(256).optional(),
});
export type FaultSettings = z.infer<typeof faultSettingsSchema>;

/** Fault settings as `GET /faults` and `PUT /faults` answer them: `seed` is the one in use, even a random one. */
export const faultViewSchema = faultSettingsSchema.extend({ seed: z.string() });
export type FaultView = z.infer<typeof faultViewSchema>;

/**
 * Body of `PUT /faults`: any subset of the settings; fields left out keep their value.
 * A new `seed` restarts the random sequence; `seed: null` picks a fresh random seed.
 */
export const faultUpdateSchema = faultSettingsSchema
  .extend({
    seed: z.union([z.string().min(1, 'must not be empty').max(256), z.number().finite()]).nullable(),
  })
  .partial();
export type FaultUpdate = z.infer<typeof faultUpdateSchema>;
