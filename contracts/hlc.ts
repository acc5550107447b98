/**
 * Hybrid logical clock stamps `[wall, counter]` for lww-register and log.
 *
 * Validity depends on the bytes alone: a stamp is any pair of safe integers
 * ≥ 0, whatever this peer's clock reads, so the same state is valid on every
 * peer and a write acknowledged on a peer with a fast clock replicates.
 * Stamps far in the future are merged like any other: an accidental fast
 * clock wins until real time catches up, as in other last-writer-wins stores.
 *
 * What is bounded is this peer's own clock: a local write after holding a
 * stamp `held` is stamped `max(now, held)` (the counter ticks on a tie), but
 * never with a wall part past `now + maxDriftMs`. So a stamp received from
 * far ahead (a fast clock, or a forged one) cannot drag this peer's clock
 * along. The price, by design: while this peer holds a stamp more than
 * `maxDriftMs` ahead of its clock, its new writes are stamped at
 * `now + maxDriftMs` and order *before* that stamp (an lww set loses to it, a
 * log entry sorts before it) until real time comes within `maxDriftMs` of it;
 * within the bound the usual HLC guarantee holds (a write orders after
 * everything its writer had seen). Two such capped writes by one replica in
 * the same millisecond both get `[now + maxDriftMs, 0]`: the second cannot
 * tick after the first, since a stamp is a function of the state, and the
 * state after the first still holds the far stamp it lost to, not the first's
 * stamp. For a log they still differ (each takes a fresh dot); an lww-register
 * orders the two by value bytes rather than by time. Harmless: both lose to
 * the far stamp, which their writer holds and serves by sync, so every peer
 * ends with it; a peer that has both writes but not yet the far stamp may
 * show the earlier write meanwhile. Each peer's skew, estimated from the
 * stamps it sends (Contract.stampOf, core/sync/clock-skew.ts), shows who has
 * the fast clock.
 */
import { ContractError } from '../core/errors.ts'
import { short } from '../core/json.ts'

export type Hlc = [wall: number, counter: number]

/** How far past this peer's clock a local stamp may go (ms) unless configured. */
export const DEFAULT_MAX_DRIFT_MS = 60_000

/** A wall or counter part: a safe integer ≥ 0. */
export function isClockPart (x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0
}

/** Order of stamps: wall, then counter. */
export function compareHlc (a: Hlc, b: Hlc): number {
  return a[0] - b[0] || a[1] - b[1]
}

/** Checks a `maxDriftMs` parameter, or throws ContractError('bad_args'). */
export function checkDriftParam (maxDriftMs: unknown): number {
  if (!isClockPart(maxDriftMs)) throw new ContractError('bad_args', `maxDriftMs must be a safe integer ≥ 0, got ${short(maxDriftMs)}`)
  return maxDriftMs
}

/**
 * The stamp of a local write at wall time `now` by a replica whose state's
 * greatest stamp is `held` (null: none): after `held`, unless that would put
 * the wall part past `now + maxDriftMs` (see the header). Throws
 * ContractError('bad_args') when `now` is not a time.
 */
export function nextStamp (held: Hlc | null, now: number, maxDriftMs: number, op: string): Hlc {
  const wallNow = Math.floor(now)
  if (!isClockPart(wallNow)) throw new ContractError('bad_args', `${op}: the clock reads ${short(now)}, not a time in ms since the epoch`)
  const cap = Math.min(wallNow + maxDriftMs, Number.MAX_SAFE_INTEGER)
  if (held === null || held[0] < wallNow) return [wallNow, 0]
  if (held[0] > cap) return [cap, 0]
  const counter = held[1] + 1
  if (Number.isSafeInteger(counter)) return [held[0], counter]
  // Only a forged counter gets here: move to the next millisecond if the bound allows.
  return held[0] < cap ? [held[0] + 1, 0] : [cap, 0]
}
