/**
 * pn-counter: a counter that goes both ways, as two g-counters: `p` counts
 * increments, `n` decrements, and the value is their difference. Each half
 * merges, summarizes and deltas exactly as a g-counter does. The value is
 * exact, as for g-counter: a JSON number while it is a safe integer, else its
 * decimal string (e.g. "18014398509481982"); each replica's own count in
 * each half stays within 2^53 − 1.
 */
import type { Contract } from '../core/contract.ts'
import { ContractError } from '../core/errors.ts'
import { type CounterView, type GCounterState, addCount, amountArg, deltaCounts, exactTotal, exactView, joinCounts, validateCounts } from './g-counter.ts'
import { isPlainObject, short } from '../core/json.ts'

export type PnCounterState = { p: GCounterState, n: GCounterState }


function validatePair (x: unknown, code: 'invalid_state' | 'invalid_summary'): PnCounterState {
  if (!isPlainObject(x)) {
    throw new ContractError(code, `pn-counter ${code === 'invalid_state' ? 'state' : 'summary'} must be an object {p, n}, got ${short(x)}`)
  }
  const keys = Object.keys(x)
  if (keys.length !== 2 || !Object.hasOwn(x, 'p') || !Object.hasOwn(x, 'n')) throw new ContractError(code, `pn-counter must have exactly the keys p and n, got ${short(keys)}`)
  const { p, n } = x as { p: unknown, n: unknown }
  return { p: validateCounts(p, code), n: validateCounts(n, code) }
}

export const pnCounter: Contract<PnCounterState, PnCounterState> & { view: (s: PnCounterState) => CounterView } = {
  id: 'pn-counter',
  empty: () => ({ p: [], n: [] }),
  merge: (a, b) => ({ p: joinCounts(a.p, b.p), n: joinCounts(a.n, b.n) }),
  // As for g-counter, the state is its own version vector and so its own summary.
  summarize: s => s,
  delta (s, theirs) {
    const p = deltaCounts(s.p, theirs.p)
    const n = deltaCounts(s.n, theirs.n)
    return p === undefined && n === undefined ? undefined : { p: p ?? [], n: n ?? [] }
  },
  validate: x => validatePair(x, 'invalid_state'),
  validateSummary: x => validatePair(x, 'invalid_summary'),
  ops: {
    inc (s, args, ctx) {
      const p = addCount(s.p, ctx.replica, amountArg('inc', args), 'inc')
      return p === undefined ? undefined : { p, n: [] }
    },
    dec (s, args, ctx) {
      const n = addCount(s.n, ctx.replica, amountArg('dec', args), 'dec')
      return n === undefined ? undefined : { p: [], n }
    }
  },
  replicasOf: s => [...s.p, ...s.n].map(([r]) => r),
  view (s): CounterView {
    const p = exactTotal(s.p)
    const n = exactTotal(s.n)
    // Two safe totals differ by a safe amount; otherwise subtract exactly.
    return typeof p === 'number' && typeof n === 'number' ? p - n : exactView(BigInt(p) - BigInt(n))
  }
}
