/**
 * What an op means, beyond the lattice: with a model, the view after a
 * sequence of ops on one replica must be the model's (an `inc` whose delta
 * forgets the replica's earlier count is a fine lattice and a wrong counter);
 * and no function may change its arguments, since the store keeps states in a
 * cache that merges, deltas and views share.
 */
import { encode } from '../codec.ts'
import type { OpContext } from '../contract.ts'
import type { Check } from './checks.ts'
import { BASE_TIME, REPLICAS, runOp } from './history.ts'
import { LawBroken, type OpCall, bytesEqual, errorText, roundTrip, show } from './types.ts'

export const opModel: Check = ({ c, h, arbs }) => {
  const model = arbs.model
  if (model === undefined) return
  let m = model.init()
  let s = c.empty()
  let t = BASE_TIME
  const done: string[] = []
  for (const step of h.steps) {
    if (step.kind !== 'op') continue
    t += step.advance
    const ctx: OpContext = { replica: REPLICAS[0], now: t }
    const out = runOp(c, s, step.call, ctx)
    if ('refused' in out) continue
    const d = out.delta
    done.push(`${step.call.op}(${show(step.call.args).slice(1, -1)})`)
    try {
      m = model.apply(m, step.call.op, step.call.args, ctx)
    } catch (err) {
      throw new LawBroken('op-model', `the model's apply threw ${errorText(err)} after ${done.join(', ')}`)
    }
    if (d !== undefined) s = c.merge(s, d)
    const want = model.view(m)
    const got = c.view(s)
    if (!bytesEqual(got, want)) {
      throw new LawBroken('op-model', `after ${done.join(', ')} on one replica the view is ${show(got)}, but the model says ${show(want)} (state ${show(s)}, last delta ${show(d)})`)
    }
  }
}

/** A fresh deep copy, frozen (byte strings cannot be frozen; the byte comparison covers them). A copy, so later checks of the run see the states as they were. */
function frozenCopy (x: unknown): unknown {
  const freeze = (v: unknown): unknown => {
    if (v === null || typeof v !== 'object' || v instanceof Uint8Array) return v
    for (const inner of Object.values(v)) freeze(inner)
    return Object.freeze(v)
  }
  return freeze(roundTrip(x))
}

const WRITE_TO_FROZEN = /read[- ]only|not extensible|Cannot (assign|add|delete|define|redefine)|object is frozen/i

/** Calls fn(...args) on frozen copies and checks each copy still encodes as before. */
function untouched (what: string, fn: (...args: unknown[]) => unknown, args: readonly unknown[]): void {
  const copies = args.map(frozenCopy)
  const before = copies.map(a => encode(a))
  try {
    fn(...copies)
  } catch (err) {
    if (err instanceof TypeError && WRITE_TO_FROZEN.test(err.message)) {
      throw new LawBroken('no-mutation', `${what} writes to its argument (${err.message}) for ${args.map(show).join(', ')}`)
    }
    return // other errors are other laws' business
  }
  copies.forEach((a, i) => {
    if (Buffer.compare(encode(a), before[i]) !== 0) throw new LawBroken('no-mutation', `${what} changed its argument ${show(args[i])} into ${show(a)}`)
  })
}

export const noMutation: Check = ({ c, h, w, pick }) => {
  const a = pick(w.all); const b = pick(w.all)
  untouched('merge(a, b)', (x, y) => c.merge(x, y), [a, b])
  untouched('merge(b, a)', (x, y) => c.merge(x, y), [b, a])
  untouched('summarize(a)', x => c.summarize(x), [a])
  untouched('view(a)', x => c.view(x), [a])
  untouched('validate(a)', x => c.validate(x), [a])
  untouched('delta(a, summarize(b))', (x, y) => c.delta(x, y), [a, c.summarize(b)])
  const calls = h.steps.flatMap(s => (s.kind === 'op' ? [s.call] : []))
  if (calls.length === 0) return
  const call = pick(calls) as OpCall
  const ctx: OpContext = { replica: REPLICAS[0], now: BASE_TIME }
  untouched(`op ${call.op}(state, args)`, (s, args) => c.ops[call.op]?.(s, args as OpCall['args'], ctx), [pick(w.states), call.args])
}
