/**
 * The lattice laws (DESIGN.md laws 1–5), one check each: given a contract and
 * a world (the states of one random history), throw LawBroken on a violation.
 * The pick function draws from a fast-check stream, so choices shrink too.
 */
import type { AnyContract } from '../contract.ts'
import type { History, World } from './history.ts'
import { LawBroken, type LawArbitraries, type LawName, bytesEqual, roundTrip, show } from './types.ts'

export type Pick = (xs: readonly unknown[]) => unknown

/** Everything one run of one law gets. */
export interface CheckInput {
  c: AnyContract
  h: History
  w: World
  pick: Pick
  /** A garbage value drawn for this run. */
  garbage: unknown
  arbs: LawArbitraries
}

export type Check = (x: CheckInput) => void

/**
 * A full state to test delta and summary laws on: a replica's snapshot, or the
 * fold of a random subset of the history's op deltas — what a replica that
 * missed some pushes holds, in no causal order.
 */
export function pickState ({ c, w, pick }: CheckInput): unknown {
  if (w.opDeltas.length === 0 || pick([0, 1]) === 0) return pick(w.states)
  return w.opDeltas.reduce((s, d) => (pick([0, 1]) === 0 ? s : c.merge(s, d)), c.empty())
}

export const latticeChecks: Partial<Record<LawName, Check>> = {
  'merge-commutative': ({ c, w, pick }) => {
    const a = pick(w.all); const b = pick(w.all)
    if (!bytesEqual(c.merge(a, b), c.merge(b, a))) throw new LawBroken('merge-commutative', `merge(a, b) ≠ merge(b, a) for a=${show(a)} b=${show(b)}`)
  },
  'merge-associative': ({ c, w, pick }) => {
    const a = pick(w.all); const b = pick(w.all); const d = pick(w.all)
    if (!bytesEqual(c.merge(c.merge(a, b), d), c.merge(a, c.merge(b, d)))) {
      throw new LawBroken('merge-associative', `merge(merge(a, b), c) ≠ merge(a, merge(b, c)) for a=${show(a)} b=${show(b)} c=${show(d)}`)
    }
  },
  'merge-idempotent': ({ c, w, pick }) => {
    const a = pick(w.all)
    if (!bytesEqual(c.merge(a, a), a)) throw new LawBroken('merge-idempotent', `merge(a, a) ≠ a for a=${show(a)}: got ${show(c.merge(a, a))}`)
  },
  'merge-identity': ({ c, w, pick }) => {
    const a = pick(w.all)
    if (!bytesEqual(c.merge(c.empty(), a), a) || !bytesEqual(c.merge(a, c.empty()), a)) throw new LawBroken('merge-identity', `merge(empty, a) ≠ a for a=${show(a)}`)
  },
  'delta-complete': x => {
    const { c } = x
    const a = pickState(x); const b = pickState(x)
    const d = c.delta(a, c.validateSummary(roundTrip(c.summarize(b))))
    const got = d === undefined ? b : c.merge(b, c.validate(roundTrip(d)))
    if (!bytesEqual(got, c.merge(a, b))) {
      throw new LawBroken('delta-complete', `merge(b, delta(a, summarize(b))) ≠ merge(a, b) for a=${show(a)} b=${show(b)}: delta=${show(d)}`)
    }
  },
  'delta-minimal': x => {
    const { c } = x
    const a = pickState(x); const b = pickState(x)
    for (const target of [b, c.merge(a, b)]) {
      if (!bytesEqual(c.merge(a, target), target)) continue
      const d = c.delta(a, c.validateSummary(roundTrip(c.summarize(target))))
      if (d !== undefined) throw new LawBroken('delta-minimal', `b already contains a but delta(a, summarize(b)) = ${show(d)} for a=${show(a)} b=${show(target)}`)
    }
  },
  'canonical-encoding': ({ c, w, pick }) => {
    const a = pick(w.all)
    const again = c.validate(roundTrip(a))
    if (!bytesEqual(again, a)) throw new LawBroken('canonical-encoding', `validate(decode(encode(a))) re-encodes differently for a=${show(a)}`)
    if (!bytesEqual(c.summarize(again), c.summarize(a))) throw new LawBroken('canonical-encoding', `equal states give different summaries for a=${show(a)}`)
  },
  'summary-faithful': x => {
    const { c } = x
    const a = pickState(x); const b = pickState(x)
    if (bytesEqual(c.summarize(a), c.summarize(b)) && !bytesEqual(a, b)) {
      throw new LawBroken('summary-faithful', `equal summaries ${show(c.summarize(a))} for different states a=${show(a)} b=${show(b)}`)
    }
  },
  'ops-converge': ({ c, w, pick }) => {
    if (w.opDeltas.length === 0) return
    const expected = w.finals.reduce((x, y) => c.merge(x, y), c.empty())
    for (let round = 0; round < 2; round++) {
      // A delivery order with reordering and duplicates, drawn from the picker.
      const order: unknown[] = [...w.opDeltas]
      for (let i = 0; i < order.length; i++) {
        const j = w.opDeltas.indexOf(pick(w.opDeltas))
        ;[order[i], order[j]] = [order[j], order[i]]
      }
      order.push(pick(w.opDeltas))
      const got = order.reduce((x, y) => c.merge(x, y), c.empty())
      if (!bytesEqual(got, expected)) throw new LawBroken('ops-converge', `delivering the op deltas in another order gives ${show(got)}, not ${show(expected)}`)
    }
  },
  'validate-accepts': ({ c, w, pick }) => {
    const a = pick(w.all)
    let s: unknown
    try { s = c.validate(roundTrip(a)) } catch (err) { throw new LawBroken('validate-accepts', `validate rejects reachable state ${show(a)}: ${(err as Error).message}`) }
    if (!bytesEqual(s, a)) throw new LawBroken('validate-accepts', `validate changes reachable state ${show(a)}`)
    const sum = c.summarize(a)
    try { c.validateSummary(roundTrip(sum)) } catch (err) { throw new LawBroken('validate-accepts', `validateSummary rejects ${show(sum)}: ${(err as Error).message}`) }
    try { c.view(a) } catch (err) { throw new LawBroken('validate-accepts', `view throws on ${show(a)}: ${(err as Error).message}`) }
  },
  'op-errors': () => { /* checked while running every history */ }
}
