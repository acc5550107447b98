/**
 * g-set: a grow-only set of JSON values on the causal kernel. Each add is an
 * entry `[value, dot]`; concurrent adds of one value keep both entries and the
 * view shows the value once. A g-set never removes, so every dot of its
 * context names an entry; validate insists on that, so no peer can delete
 * entries by sending a context without them. The entry helpers here are
 * shared with or-set, whose entries have the same shape.
 */
import { type CausalKind, causalProblem, deltaCausal, joinCausal } from '../core/causal.ts'
import { compareCanonical, encode } from '../core/codec.ts'
import type { Contract } from '../core/contract.ts'
import { type Dot, type DotSet, compareDots, dotCount, dotSetOf, nextDot, validateDot, validateDotSet } from '../core/dots.ts'
import { ContractError } from '../core/errors.ts'
import { type JsonValue, isPlainObject, jsonProblem, short } from '../core/json.ts'

export type ValueEntry = [value: JsonValue, dot: Dot]
/** A type alias, not Causal itself: an interface would not satisfy Plain. */
export type ValueSet = { e: ValueEntry[], c: DotSet }

/** Entries sorted by the canonical bytes of their value, then by dot. */
export const valueEntryKind: CausalKind<ValueEntry> = {
  dotOf: e => e[1],
  compare: (a, b) => compareCanonical(a[0], b[0]) || compareDots(a[1], b[1]),
  exact: true
}

/** A value sits three levels deep in a state ({e: [[value, dot]]}); one level of margin keeps every state decodable. */


/** The single JSON value an op takes, or ContractError('bad_args'). */
export function valueArg (args: readonly JsonValue[], op: string): JsonValue {
  if (args.length !== 1) throw new ContractError('bad_args', `${op}(value) takes exactly one argument, got ${args.length}`)
  const problem = jsonProblem(args[0])
  if (problem !== undefined) throw new ContractError('bad_args', `${op}(value): value is not a JSON value that fits in a state: ${problem}`)
  return args[0]
}

/** The dots of every entry holding `value` (entries are sorted by value, so this is a binary search). */
export function dotsOfValue (entries: readonly ValueEntry[], value: JsonValue): Dot[] {
  const key = encode(value)
  let lo = 0; let hi = entries.length
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (Buffer.compare(encode(entries[mid][0]), key) < 0) lo = mid + 1; else hi = mid
  }
  const dots: Dot[] = []
  for (let i = lo; i < entries.length && Buffer.compare(encode(entries[i][0]), key) === 0; i++) dots.push(entries[i][1])
  return dots
}

/** Each value once, in canonical order. */
export function distinctValues (entries: readonly ValueEntry[]): JsonValue[] {
  const out: JsonValue[] = []
  let prev: Uint8Array | undefined
  for (const [value] of entries) {
    const bytes = encode(value)
    if (prev === undefined || Buffer.compare(prev, bytes) !== 0) out.push(value)
    prev = bytes
  }
  return out
}

/** Parses an untrusted `{e: [[value, dot]…], c}` state of contract `id`, or throws ContractError('invalid_state'). */
export function validateValueSet (x: unknown, id: string): ValueSet {
  // A plain object first: Object.keys of a byte string lists every index (a 900 KB one took 590 ms).
  if (!isPlainObject(x) || Object.keys(x).sort().join() !== 'c,e') {
    throw new ContractError('invalid_state', `${id} state must be an object {e, c}, got ${short(x)}`)
  }
  const { e, c } = x as { e: unknown, c: unknown }
  const context = validateDotSet(c)
  if (!Array.isArray(e)) throw new ContractError('invalid_state', `${id} entries must be an array, got ${short(e)}`)
  const entries = e.map((entry: unknown): ValueEntry => {
    if (!Array.isArray(entry) || entry.length !== 2) throw new ContractError('invalid_state', `${id} entry must be [value, dot], got ${short(entry)}`)
    const problem = jsonProblem(entry[0])
    if (problem !== undefined) throw new ContractError('invalid_state', `${id} entry value is not JSON: ${problem}`)
    return [entry[0] as JsonValue, validateDot(entry[1])]
  })
  const problem = causalProblem(valueEntryKind, { e: entries, c: context })
  if (problem !== undefined) throw new ContractError('invalid_state', `${id} state: ${problem}`)
  return { e: entries, c: context }
}

export const gSet: Contract<ValueSet, DotSet> = {
  id: 'g-set',
  empty: () => ({ e: [], c: [] }),
  merge: (a, b) => joinCausal(valueEntryKind, a, b),
  summarize: s => s.c,
  // It never removes, so every dot of a context is live: the context alone is the summary.
  delta: (s, theirs) => deltaCausal(valueEntryKind, s, { c: theirs, a: theirs }),
  validate (x) {
    const s = validateValueSet(x, 'g-set')
    if (dotCount(s.c) !== s.e.length) throw new ContractError('invalid_state', 'g-set context holds dots with no entry, but a g-set never removes')
    return s
  },
  validateSummary: x => validateDotSet(x, 'invalid_summary'),
  ops: {
    add (s, args, ctx) {
      const value = valueArg(args, 'add')
      if (dotsOfValue(s.e, value).length > 0) return undefined
      const dot = nextDot(s.c, ctx.replica)
      return { e: [[value, dot]], c: dotSetOf([dot]) }
    }
  },
  view: s => distinctValues(s.e),
  replicasOf: s => s.e.map(x => x[1][0])
}
