/**
 * mv-register: a multi-value register. A set overwrites every value it has
 * seen; sets that did not see each other are concurrent and all survive, so
 * the view is the list of concurrent values and the app decides. Built on the
 * causal kernel (core/causal.ts): entries are `[value, dot]` and the context
 * records every dot seen, so an overwritten value needs no tombstone.
 */
import { canonicalEqual, compareCanonical } from '../core/codec.ts'
import { type CausalKind, causalProblem, deltaCausal, joinCausal, type CausalSummary, summarizeCausal, validateCausalSummary } from '../core/causal.ts'
import type { Contract } from '../core/contract.ts'
import { type Dot, type DotSet, compareDots, dotSetOf, nextDot, validateDot, validateDotSet } from '../core/dots.ts'
import { ContractError } from '../core/errors.ts'
import { type JsonValue, isPlainObject, jsonProblem, short } from '../core/json.ts'

export type MvEntry = [value: JsonValue, dot: Dot]
/** Entries sorted by canonical value bytes, then dot; `c` is the causal context. */
export type MvRegisterState = { e: MvEntry[], c: DotSet }


const kind: CausalKind<MvEntry> = {
  dotOf: e => e[1],
  compare: (a, b) => compareCanonical(a[0], b[0]) || compareDots(a[1], b[1]),
  exact: true
}



function validateState (x: unknown): MvRegisterState {
  if (!isPlainObject(x) || Object.keys(x).length !== 2 || !Object.hasOwn(x, 'e') || !Object.hasOwn(x, 'c')) {
    throw new ContractError('invalid_state', `mv-register state must be {e, c}, got ${short(x)}`)
  }
  const c = validateDotSet(x.c, 'invalid_state')
  if (!Array.isArray(x.e)) throw new ContractError('invalid_state', `mv-register entries must be an array, got ${short(x.e)}`)
  const e = x.e.map((entry: unknown): MvEntry => {
    if (!Array.isArray(entry) || entry.length !== 2) throw new ContractError('invalid_state', `mv-register entry is not [value, dot]: ${short(entry)}`)
    const problem = jsonProblem(entry[0])
    if (problem !== undefined) throw new ContractError('invalid_state', `mv-register value is not JSON: ${problem}`)
    return [entry[0] as JsonValue, validateDot(entry[1], 'invalid_state')]
  })
  const state = { e, c }
  const problem = causalProblem(kind, state)
  if (problem !== undefined) throw new ContractError('invalid_state', `mv-register state: ${problem}`)
  return state
}

export const mvRegister: Contract<MvRegisterState, CausalSummary> = {
  id: 'mv-register',
  empty: () => ({ e: [], c: [] }),
  merge: (a, b) => joinCausal(kind, a, b),
  // Context plus live dots: a replica can know an overwrite's dot without what it overwrote (see core/causal.ts).
  summarize: s => summarizeCausal(kind, s),
  delta: (s, theirs) => deltaCausal(kind, s, theirs),
  validate: validateState,
  validateSummary: validateCausalSummary,
  ops: {
    set (s, args, ctx) {
      if (args.length !== 1) throw new ContractError('bad_args', `set(value) takes exactly one argument, got ${args.length}`)
      const problem = jsonProblem(args[0])
      if (problem !== undefined) throw new ContractError('bad_args', `set(value): value is not JSON: ${problem}`)
      // The delta's context covers every value this replica sees (they are overwritten)
      // and the new dot itself, which records the overwrite so deltas stay exact.
      const dot = nextDot(s.c, ctx.replica)
      return { e: [[args[0], dot]], c: dotSetOf([...s.e.map(kind.dotOf), dot]) }
    }
  },
  replicasOf: s => s.e.map(x => x[1][0]),
  view (s) {
    const values: JsonValue[] = []
    for (const [v] of s.e) {
      if (values.length === 0 || !canonicalEqual(values[values.length - 1], v)) values.push(v)
    }
    return values
  }
}
