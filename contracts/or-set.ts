/**
 * or-set: an add-wins observed-remove set of JSON values on the causal kernel.
 * An add makes a fresh entry `[value, dot]` and retires the value's entries it
 * has seen; a remove retires the entries it has seen and nothing else, so an
 * add concurrent with a remove survives it. Removed entries leave no
 * tombstone: their dots stay in the context, and the remove's own fresh dot
 * keeps "equal contexts mean equal states" true.
 */
import { deltaCausal, joinCausal, type CausalSummary, summarizeCausal, validateCausalSummary } from '../core/causal.ts'
import type { Contract } from '../core/contract.ts'
import { type DotSet, dotSetOf, nextDot, validateDotSet } from '../core/dots.ts'
import { type ValueSet, distinctValues, dotsOfValue, validateValueSet, valueArg, valueEntryKind } from './g-set.ts'

export const orSet: Contract<ValueSet, CausalSummary> = {
  id: 'or-set',
  empty: () => ({ e: [], c: [] }),
  merge: (a, b) => joinCausal(valueEntryKind, a, b),
  summarize: s => summarizeCausal(valueEntryKind, s),
  delta: (s, theirs) => deltaCausal(valueEntryKind, s, theirs),
  validate: x => validateValueSet(x, 'or-set'),
  validateSummary: validateCausalSummary,
  ops: {
    add (s, args, ctx) {
      const value = valueArg(args, 'add')
      const dot = nextDot(s.c, ctx.replica)
      // The new entry replaces the ones this replica has seen, so a value holds one entry per concurrent adder.
      return { e: [[value, dot]], c: dotSetOf([...dotsOfValue(s.e, value), dot]) }
    },
    remove (s, args, ctx) {
      const value = valueArg(args, 'remove')
      const alive = dotsOfValue(s.e, value)
      if (alive.length === 0) return undefined
      return { e: [], c: dotSetOf([...alive, nextDot(s.c, ctx.replica)]) }
    }
  },
  view: s => distinctValues(s.e),
  // Entries' dots; a remove's fresh dot is only in the context, which names what it has seen.
  replicasOf: s => s.e.map(x => x[1][0])
}
