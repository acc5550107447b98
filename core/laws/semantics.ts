/**
 * What an op means, beyond the lattice: with a model, the view after a
 * sequence of ops on one replica must be the model's (an `inc` whose delta
 * forgets the replica's earlier count is a fine lattice and a wrong counter);
 * and no function may change its arguments, since the store keeps states in a
 * cache that merges, deltas and views share.
 */
import { encode } from '../codec.ts'
import type { OpContext } from '../contract.ts'
import type { Check, CheckInput } from './checks.ts'
import { BASE_TIME, REPLICAS, runOp } from './history.ts'
import { LawBroken, type OpCall, bytesEqual, errorText, roundTrip, show } from './types.ts'

export const opModel: Check = x => {
  sequentialModel(x)
  concurrentModel(x)
  forkedModel(x)
}

function sequentialModel ({ c, h, arbs }: CheckInput): void {
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

/** Ops of a history tried as two branches from a shared prefix (the first FORK_OPS calls, every split). */
const FORK_OPS = 6

/**
 * With model.merge: for each split of the history's first calls into a prefix
 * run on one replica, then two branches on two replicas, the merge of the
 * branches must show what the model's merge says. Bugs that need a write
 * racing another (a reused identity, say) take several precise steps that
 * random histories rarely line up; every split of a few ops finds them.
 */
function forkedModel ({ c, h, arbs }: CheckInput): void {
  const model = arbs.model
  if (model?.merge === undefined) return
  const calls = h.steps.flatMap(s => (s.kind === 'op' ? [s.call] : [])).slice(0, FORK_OPS)
  const run = (state: unknown, m: unknown, from: number, to: number, replica: string, done: string[]): [unknown, unknown] => {
    for (let i = from; i < to; i++) {
      const ctx: OpContext = { replica, now: BASE_TIME + 1000 * i }
      const out = runOp(c, state, calls[i], ctx)
      if ('refused' in out) continue
      done.push(`${replica}: ${calls[i].op}(${show(calls[i].args).slice(1, -1)})`)
      m = model.apply(m, calls[i].op, calls[i].args, ctx)
      if (out.delta !== undefined) state = c.merge(state, out.delta)
    }
    return [state, m]
  }
  for (let k = 0; k <= calls.length; k++) {
    for (let j = k; j <= calls.length; j++) {
      const done: string[] = []
      const [prefix, mp] = run(c.empty(), model.init(), 0, k, REPLICAS[0], done)
      const [a, ma] = run(prefix, mp, k, j, REPLICAS[0], done)
      done.push(`${REPLICAS[1]} starts from the state after op ${k}`)
      const [b, mb] = run(prefix, mp, j, calls.length, REPLICAS[1], done)
      const want = model.view(model.merge(ma, mb))
      const got = c.view(c.merge(a, b))
      if (!bytesEqual(got, want)) {
        throw new LawBroken('op-model', `after ${done.join('; ')}, the merge of the two replicas shows ${show(got)}, but the model says ${show(want)} (states ${show(a)} and ${show(b)})`)
      }
    }
  }
}

/** With model.merge: every replica of the history against its model, through ops, merges and syncs (out-of-order deliveries are left out: no model of a lone delta). */
function concurrentModel ({ c, h, arbs }: CheckInput): void {
  const model = arbs.model
  if (model?.merge === undefined) return
  const n = h.skew.length
  const states: unknown[] = []
  const models: unknown[] = []
  for (let i = 0; i < n; i++) { states.push(c.empty()); models.push(model.init()) }
  const done: string[] = []
  let t = BASE_TIME
  for (const step of h.steps) {
    let i: number
    if (step.kind === 'op') {
      t += step.advance
      i = step.replica % n
      const ctx: OpContext = { replica: REPLICAS[i], now: t + h.skew[i] }
      const out = runOp(c, states[i], step.call, ctx)
      if ('refused' in out) continue
      done.push(`${REPLICAS[i]}: ${step.call.op}(${show(step.call.args).slice(1, -1)})`)
      models[i] = model.apply(models[i], step.call.op, step.call.args, ctx)
      if (out.delta !== undefined) states[i] = c.merge(states[i], out.delta)
    } else if (step.kind === 'deliver') {
      continue
    } else {
      const from = step.from % n
      i = step.to % n
      done.push(`${REPLICAS[i]} ${step.kind}s from ${REPLICAS[from]}`)
      const d = step.kind === 'merge' ? states[from] : c.delta(states[from], c.summarize(states[i]))
      if (d !== undefined) states[i] = c.merge(states[i], d)
      models[i] = model.merge(models[i], models[from])
    }
    const want = model.view(models[i])
    const got = c.view(states[i])
    if (!bytesEqual(got, want)) {
      throw new LawBroken('op-model', `after ${done.join('; ')}, ${REPLICAS[i]}'s view is ${show(got)}, but the model says ${show(want)} (state ${show(states[i])})`)
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
