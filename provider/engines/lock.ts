import { PmgrantsError } from '../model/errors';

/** Who holds a warehouse's apply lock, as far as the server tells. */
export interface LockHolder {
  /** The holder's server session: "pid 4242" (PostgreSQL backend), "session 57" (SQL Server session_id). */
  session?: string;
  /** When that session started (the apply started on it). */
  since?: Date;
  /** Its application name (pmgrants by default). */
  program?: string;
}

/** "pid 4242, started 2026-12-03 10:15:02 UTC" (whatever of it is known). */
export function describeLockHolder(holder: LockHolder): string {
  const parts: string[] = [];
  if (holder.session !== undefined) parts.push(holder.session);
  if (holder.program && holder.program !== 'pmgrants') parts.push(`application "${holder.program.replace(/[^\x20-\x7e]/g, '?')}"`);
  if (holder.since) parts.push(`started ${holder.since.toISOString().slice(0, 19).replace('T', ' ')} UTC`);
  return parts.length > 0 ? parts.join(', ') : 'holder unknown';
}

/** What a command says (stderr) while it waits for the apply lock. */
export function waitingForLockMessage(database: string, holder: LockHolder): string {
  return `waiting for another pmgrants apply on ${database} (${describeLockHolder(holder)}) to finish`;
}

/** The error of an apply that waited for the lock in vain: one sentence naming the holder. */
export function lockTimeoutError(database: string, holder: LockHolder, seconds: number): PmgrantsError {
  const held = seconds > 0 ? `still held the apply lock after ${seconds} s` : 'holds the apply lock (no waiting: the lock timeout is 0)';
  return new PmgrantsError(`another pmgrants apply on ${database} (${describeLockHolder(holder)}) ${held}; nothing was applied, try again when it has finished`);
}
