/**
 * lww-register: one value; the last write wins. "Last" is a hybrid logical
 * clock stamp `[wall, counter]`, so a replica whose clock runs behind still
 * writes after what it has seen, and the writer's replica id breaks ties.
 * Stamps further in the future than `maxDriftMs` are refused: one fast clock
 * must not win every write for hours.
 */
import { compareCanonical } from '../core/codec.ts'
import type { Contract } from '../core/contract.ts'
import { isReplicaId } from '../core/dots.ts'
import { ContractError } from '../core/errors.ts'
import { type JsonObject, type JsonValue, isPlainObject, jsonProblem, short } from '../core/json.ts'

export type LwwRegisterState = { t: [wall: number, counter: number], r: string, v: JsonValue } | null
export type LwwRegisterSummary = [wall: number, counter: number, replica: string] | null

export interface LwwRegisterOptions {
  /** How far ahead of `clock()` a timestamp may be, in ms (default 60 000). */
  maxDriftMs?: number
  /** The local wall clock used to check drift (default Date.now). */
  clock?: () => number
}

type Code = 'invalid_state' | 'invalid_summary'



function cmpStr (a: string, b: string): number { return a < b ? -1 : a > b ? 1 : 0 }

/** Order of writes: (wall, counter, replica). */
function compareStamps (a: NonNullable<LwwRegisterSummary>, b: NonNullable<LwwRegisterSummary>): number {
  return a[0] - b[0] || a[1] - b[1] || cmpStr(a[2], b[2])
}

function stampOf (s: NonNullable<LwwRegisterState>): NonNullable<LwwRegisterSummary> {
  return [s.t[0], s.t[1], s.r]
}

function isClockPart (x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0
}

function checkDriftParam (maxDriftMs: unknown): number {
  if (!isClockPart(maxDriftMs)) throw new ContractError('bad_args', `maxDriftMs must be a safe integer ≥ 0, got ${short(maxDriftMs)}`)
  return maxDriftMs
}

export function createLwwRegister ({ maxDriftMs = 60_000, clock = Date.now }: LwwRegisterOptions = {}): Contract<LwwRegisterState, LwwRegisterSummary> {
  checkDriftParam(maxDriftMs)

  function checkWall (wall: number, code: Code): void {
    const ahead = wall - clock()
    if (ahead > maxDriftMs) {
      throw new ContractError(code, `timestamp ${wall} is ${ahead} ms ahead of the local clock, past the allowed drift of ${maxDriftMs} ms`)
    }
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
    checkWall(t[0], 'invalid_state')
    return { t: [t[0], t[1]], r, v: v as JsonValue }
  }

  function validateSummary (x: unknown): LwwRegisterSummary {
    if (x === null) return null
    if (!Array.isArray(x) || x.length !== 3 || !isClockPart(x[0]) || !isClockPart(x[1]) || !isReplicaId(x[2])) {
      throw new ContractError('invalid_summary', `lww-register summary must be null or [wall, counter, replica], got ${short(x)}`)
    }
    checkWall(x[0], 'invalid_summary')
    return [x[0], x[1], x[2]]
  }

  return {
    id: 'lww-register',
    params: { maxDriftMs },
    empty: () => null,
    merge (a, b) {
      if (a === null) return b
      if (b === null) return a
      // Equal stamps with different values only come from forged data; ordering
      // by value bytes then keeps merge commutative and associative anyway.
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
        // Hybrid logical clock: never behind the stamp we hold, ticking the counter on a tie.
        const now = Math.floor(ctx.now)
        let wall = s === null ? now : Math.max(now, s.t[0])
        let counter = s !== null && wall === s.t[0] ? s.t[1] + 1 : 0
        if (!Number.isSafeInteger(counter)) { wall += 1; counter = 0 } // only a forged counter gets here
        return { t: [wall, counter], r: ctx.replica, v: args[0] }
      }
    },
    view: s => (s === null ? null : s.v),
    withParams (params: JsonObject) {
      for (const k of Object.keys(params)) {
        if (k !== 'maxDriftMs') throw new ContractError('bad_args', `lww-register has no parameter ${short(k)}; it takes maxDriftMs`)
      }
      return createLwwRegister({ maxDriftMs: checkDriftParam(Object.hasOwn(params, 'maxDriftMs') ? params.maxDriftMs : maxDriftMs), clock })
    }
  }
}

/** The default instance: 60 s of allowed clock drift, checked against Date.now. */
export const lwwRegister = createLwwRegister()
