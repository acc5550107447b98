/**
 * lww-register: one value; the last write wins. "Last" is a hybrid logical
 * clock stamp `[wall, counter]` (contracts/hlc.ts), so a replica whose clock
 * runs behind still writes after what it has seen, and the writer's replica
 * id breaks ties.
 *
 * Validity depends on the bytes alone, the same on every peer: any stamp of
 * safe integers is valid, however far ahead of the receiver's clock, so a
 * write acknowledged by a peer with a fast clock replicates everywhere (it
 * wins until real time catches up with it). `maxDriftMs` (default 60 000)
 * bounds this peer's own clock instead: a set never stamps its wall part past
 * `now + maxDriftMs`, so while the register holds a stamp further ahead than
 * that, a local set orders before it and loses to it (see contracts/hlc.ts).
 * `stampOf` reports the held stamp's wall part, from which peers estimate the
 * writer's clock skew.
 */
import { compareCanonical } from '../core/codec.ts'
import type { Contract } from '../core/contract.ts'
import { isReplicaId } from '../core/dots.ts'
import { ContractError } from '../core/errors.ts'
import { type JsonObject, type JsonValue, isPlainObject, jsonProblem, short } from '../core/json.ts'
import { DEFAULT_MAX_DRIFT_MS, checkDriftParam, isClockPart, nextStamp } from './hlc.ts'

export type LwwRegisterState = { t: [wall: number, counter: number], r: string, v: JsonValue } | null
export type LwwRegisterSummary = [wall: number, counter: number, replica: string] | null

export interface LwwRegisterOptions {
  /** How far past this peer's clock (ms) a local set may stamp, after holding a stamp from further ahead (default 60 000). Not a validity bound. */
  maxDriftMs?: number
}

function cmpStr (a: string, b: string): number { return a < b ? -1 : a > b ? 1 : 0 }

/** Order of writes: (wall, counter, replica). */
function compareStamps (a: NonNullable<LwwRegisterSummary>, b: NonNullable<LwwRegisterSummary>): number {
  return a[0] - b[0] || a[1] - b[1] || cmpStr(a[2], b[2])
}

function stampOf (s: NonNullable<LwwRegisterState>): NonNullable<LwwRegisterSummary> {
  return [s.t[0], s.t[1], s.r]
}

function validateState (x: unknown): LwwRegisterState {
  if (x === null) return null
  if (!isPlainObject(x) || Object.keys(x).length !== 3 || !Object.hasOwn(x, 't') || !Object.hasOwn(x, 'r') || !Object.hasOwn(x, 'v')) {
    throw new ContractError('invalid_state', `lww-register state must be null or {t, r, v}, got ${short(x)}`)
  }
  const { t, r, v } = x
  if (!Array.isArray(t) || t.length !== 2 || !isClockPart(t[0]) || !isClockPart(t[1])) {
    throw new ContractError('invalid_state', `lww-register timestamp must be [wall, counter] of safe integers ≥ 0, got ${short(t)}`)
  }
  if (!isReplicaId(r)) throw new ContractError('invalid_state', `lww-register writer ${short(r)} is not a replica id`)
  const problem = jsonProblem(v)
  if (problem !== undefined) throw new ContractError('invalid_state', `lww-register value is not JSON: ${problem}`)
  return { t: [t[0], t[1]], r, v: v as JsonValue }
}

function validateSummary (x: unknown): LwwRegisterSummary {
  if (x === null) return null
  if (!Array.isArray(x) || x.length !== 3 || !isClockPart(x[0]) || !isClockPart(x[1]) || !isReplicaId(x[2])) {
    throw new ContractError('invalid_summary', `lww-register summary must be null or [wall, counter, replica], got ${short(x)}`)
  }
  return [x[0], x[1], x[2]]
}

export function createLwwRegister ({ maxDriftMs = DEFAULT_MAX_DRIFT_MS }: LwwRegisterOptions = {}): Contract<LwwRegisterState, LwwRegisterSummary> {
  checkDriftParam(maxDriftMs)

  return {
    id: 'lww-register',
    params: { maxDriftMs },
    empty: () => null,
    merge (a, b) {
      if (a === null) return b
      if (b === null) return a
      // Equal stamps with different values come from forged data, and from one honest case: two
      // sets by one replica in the same ms while it holds a stamp beyond now + maxDriftMs (both
      // stamp [cap, 0]; contracts/hlc.ts says why that is harmless). Ordering by value bytes
      // keeps merge commutative and associative either way.
      const order = compareStamps(stampOf(a), stampOf(b)) || compareCanonical(a.v, b.v)
      return order >= 0 ? a : b
    },
    summarize: s => (s === null ? null : stampOf(s)),
    delta: (s, theirs) => (s !== null && (theirs === null || compareStamps(stampOf(s), theirs) > 0) ? s : undefined),
    validate: validateState,
    validateSummary,
    ops: {
      set (s, args, ctx) {
        if (args.length !== 1) throw new ContractError('bad_args', `set(value) takes exactly one argument, got ${args.length}`)
        const problem = jsonProblem(args[0])
        if (problem !== undefined) throw new ContractError('bad_args', `set(value): value is not JSON: ${problem}`)
        // Hybrid logical clock: after the stamp we hold, but never past now + maxDriftMs (contracts/hlc.ts).
        return { t: nextStamp(s === null ? null : s.t, ctx.now, maxDriftMs, 'set'), r: ctx.replica, v: args[0] }
      }
    },
    view: s => (s === null ? null : s.v),
    replicasOf: s => (s === null ? [] : [s.r]),
    stampOf: s => (s === null ? undefined : s.t[0]),
    withParams (params: JsonObject) {
      for (const k of Object.keys(params)) {
        if (k !== 'maxDriftMs') throw new ContractError('bad_args', `lww-register has no parameter ${short(k)}; it takes maxDriftMs`)
      }
      return createLwwRegister({ maxDriftMs: checkDriftParam(Object.hasOwn(params, 'maxDriftMs') ? params.maxDriftMs : maxDriftMs) })
    }
  }
}

/** The default instance: a local set stamps at most 60 s past this peer's clock. */
export const lwwRegister = createLwwRegister()
