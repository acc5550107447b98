/**
 * g-counter: a grow-only counter. Each replica counts its own increments; the
 * state is the sorted list of `[replica, count]` and merge takes the pointwise
 * maximum. The helpers are exported so pn-counter can pair two of them.
 *
 * Exact totals: each replica's count is at most 2^53 − 1 (validate refuses
 * more, and `inc` refuses to take this replica's own count past it), but the
 * total is not bounded: two states each within any bound can join to one
 * beyond it, and a bound peers enforce on the total would then make them
 * refuse each other's states forever. So totals are summed exactly (with
 * BigInt once they leave the safe range) and the view is a JSON number while
 * it is a safe integer, else its exact decimal string ("9007199254740993").
 */
import type { Contract } from '../core/contract.ts'
import { isReplicaId } from '../core/dots.ts'
import { ContractError } from '../core/errors.ts'
import { type JsonValue, short } from '../core/json.ts'

/** `[replica, count]` sorted by replica, each count a positive safe integer. */
export type GCounterState = Array<[replica: string, count: number]>
/** A counter's value: a JSON number while it is a safe integer, else its exact decimal string. */
export type CounterView = number | string

function cmpStr (a: string, b: string): number { return a < b ? -1 : a > b ? 1 : 0 }

/** A short printable form of untrusted input for error messages; never throws. */

/** Pointwise maximum of two sorted states. */
export function joinCounts (a: GCounterState, b: GCounterState): GCounterState {
  if (a.length === 0) return b
  if (b.length === 0) return a
  const out: GCounterState = []
  let i = 0; let j = 0
  while (i < a.length || j < b.length) {
    const c = i >= a.length ? 1 : j >= b.length ? -1 : cmpStr(a[i][0], b[j][0])
    if (c < 0) out.push(a[i++])
    else if (c > 0) out.push(b[j++])
    else { out.push(a[i][1] >= b[j][1] ? a[i] : b[j]); i++; j++ }
  }
  return out
}

/** The entries of `s` that are ahead of `theirs`; undefined when none are. */
export function deltaCounts (s: GCounterState, theirs: GCounterState): GCounterState | undefined {
  const out: GCounterState = []
  let j = 0
  for (const entry of s) {
    while (j < theirs.length && cmpStr(theirs[j][0], entry[0]) < 0) j++
    const known = j < theirs.length && theirs[j][0] === entry[0] ? theirs[j][1] : 0
    if (entry[1] > known) out.push(entry)
  }
  return out.length === 0 ? undefined : out
}

/** The exact sum of all counts: a number while it is safe, else a bigint. */
export function exactTotal (s: GCounterState): number | bigint {
  let n = 0
  for (const [, count] of s) {
    n += count
    // Every partial sum so far was safe, so exact; past the safe range, start over in BigInt.
    if (n > Number.MAX_SAFE_INTEGER) return s.reduce((sum, [, c]) => sum + BigInt(c), 0n)
  }
  return n
}

/** An exact integer as a view: a JSON number if it is a safe integer, else its decimal string. */
export function exactView (n: number | bigint): CounterView {
  if (typeof n === 'number') return n
  return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n.toString()
}

/** The total of all counts as a view (see the header): a number while safe, else a decimal string. */
export function totalView (s: GCounterState): CounterView {
  return exactView(exactTotal(s))
}

/** Parses an op's optional amount: a safe integer ≥ 0, 1 when omitted. */
export function amountArg (op: string, args: readonly JsonValue[]): number {
  if (args.length === 0) return 1
  const n = args[0]
  if (args.length > 1 || typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) {
    throw new ContractError('bad_args', `${op}(n) needs at most one argument, a safe integer ≥ 0, got ${short(args)}`)
  }
  return n
}

/** The delta adding `n` to `replica`'s count, or undefined for n = 0; refuses to take that replica's own count past 2^53 − 1. */
export function addCount (s: GCounterState, replica: string, n: number, op = 'inc'): GCounterState | undefined {
  if (n === 0) return undefined
  const own = s.find(([r]) => r === replica)
  const count = (own === undefined ? 0 : own[1]) + n
  if (count > Number.MAX_SAFE_INTEGER) {
    throw new ContractError('bad_args', `${op}(${n}) would take this replica's own count past Number.MAX_SAFE_INTEGER (2^53 − 1); it is ${own === undefined ? 0 : own[1]}`)
  }
  return [[replica, count]]
}

/** Parses an untrusted state, or throws ContractError(code) naming the problem. */
export function validateCounts (x: unknown, code: 'invalid_state' | 'invalid_summary' = 'invalid_state'): GCounterState {
  if (!Array.isArray(x)) throw new ContractError(code, 'counter state must be an array of [replica, count]')
  let prev: string | undefined
  for (const entry of x) {
    if (!Array.isArray(entry) || entry.length !== 2 || !isReplicaId(entry[0])) {
      throw new ContractError(code, `counter entry is not [replica, count]: ${short(entry)}`)
    }
    const [r, count] = entry as [string, unknown]
    if (typeof count !== 'number' || !Number.isSafeInteger(count) || count < 1) {
      throw new ContractError(code, `count for ${r} must be a positive safe integer, got ${short(count)}`)
    }
    if (prev !== undefined && cmpStr(prev, r) >= 0) throw new ContractError(code, `counter replicas are not sorted and unique at ${r}`)
    prev = r
  }
  return x as GCounterState
}

export const gCounter: Contract<GCounterState, GCounterState> & { view: (s: GCounterState) => CounterView } = {
  id: 'g-counter',
  empty: () => [],
  merge: joinCounts,
  // A g-counter's state *is* its version vector, so theory forbids a smaller
  // exact summary: anything smaller could not tell every pair of states apart.
  summarize: s => s,
  delta: deltaCounts,
  validate: x => validateCounts(x, 'invalid_state'),
  validateSummary: x => validateCounts(x, 'invalid_summary'),
  ops: {
    inc: (s, args, ctx) => addCount(s, ctx.replica, amountArg('inc', args))
  },
  view: totalView,
  replicasOf: s => s.map(([r]) => r)
}
