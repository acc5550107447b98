/**
 * Random histories, the checker's source of states. States are not drawn at
 * random (a random "or-set" is usually not a state any replica could reach);
 * instead a few replicas with skewed clocks apply random ops, merge each
 * other's states, sync by summary and delta, and receive single op deltas out
 * of causal order (as a peer that missed a push does). Every state and delta
 * of that history is a sample.
 */
import fc from 'fast-check'
import type { AnyContract, OpContext } from '../contract.ts'
import { ContractError } from '../errors.ts'
import type { JsonValue } from '../json.ts'
import { type LawArbitraries, type LawOptions, LawBroken, type OpCall, errorText, roundTrip, show } from './types.ts'

export type Step =
  | { kind: 'op', replica: number, call: OpCall, advance: number }
  | { kind: 'merge', from: number, to: number }
  | { kind: 'sync', from: number, to: number }
  /** Merge one earlier op delta into a replica, whatever it has seen: out-of-order push delivery. */
  | { kind: 'deliver', delta: number, to: number }

export interface History { steps: Step[], skew: number[] }

/** How many calls of an op a history made, and how many the op refused. */
export interface CallCount { made: number, refused: number, lastRefusal?: { call: OpCall, message: string } }

export interface World {
  /** Snapshots of replica states (full states). */
  states: unknown[]
  /** States plus every delta produced along the way. */
  all: unknown[]
  /** Op deltas in the order they were made. */
  opDeltas: unknown[]
  finals: unknown[]
  calls: Map<string, CallCount>
}

/** A fixed past instant, so clock-checking contracts accept every generated timestamp. */
export const BASE_TIME = 1_700_000_000_000
export const REPLICAS = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank']

/**
 * One argument for ops without law inputs: two colliding strings (ops on the
 * same value are where contracts go wrong), small naturals (counts, amounts)
 * as often, sometimes anything small; so an op taking one string, one number
 * or any JSON value accepts well over the 20% the op-inputs law asks.
 */
export const defaultValue: fc.Arbitrary<JsonValue> = fc.oneof(
  { arbitrary: fc.constantFrom('a', 'b'), weight: 4 },
  { arbitrary: fc.nat({ max: 5 }), weight: 4 },
  {
    arbitrary: fc.oneof(
      fc.integer({ min: -2, max: -1 }),
      fc.constantFrom('c', ''),
      fc.boolean(),
      fc.constant(null),
      fc.array(fc.integer({ min: 0, max: 2 }), { maxLength: 2 }),
      fc.dictionary(fc.constantFrom('x', 'y'), fc.integer({ min: 0, max: 2 }), { maxKeys: 2 })
    ),
    weight: 2
  }
)

/** Op calls: `op` if given; else per op its `ops` arbitrary, or one `value`. */
export function callArb (c: AnyContract, arbs: LawArbitraries): fc.Arbitrary<OpCall> {
  if (arbs.op !== undefined) return arbs.op
  const single = (arbs.value ?? defaultValue).map(v => [v])
  return fc.oneof(...Object.keys(c.ops).map(op => (arbs.ops?.[op] ?? single).map(args => ({ op, args: [...args] }))))
}

export function historyArb (c: AnyContract, arbs: LawArbitraries, opts: LawOptions): fc.Arbitrary<History> {
  const n = opts.replicas ?? 3
  const call = callArb(c, arbs)
  const idx = fc.nat({ max: n - 1 })
  const step: fc.Arbitrary<Step> = fc.oneof(
    { arbitrary: fc.record({ kind: fc.constant('op' as const), replica: idx, call, advance: fc.integer({ min: 0, max: 3000 }) }), weight: 4 },
    { arbitrary: fc.record({ kind: fc.constant('merge' as const), from: idx, to: idx }), weight: 1 },
    { arbitrary: fc.record({ kind: fc.constant('sync' as const), from: idx, to: idx }), weight: 2 },
    { arbitrary: fc.record({ kind: fc.constant('deliver' as const), delta: fc.nat(), to: idx }), weight: 1 }
  )
  return fc.record({
    steps: fc.array(step, { maxLength: opts.maxSteps ?? 12 }),
    skew: fc.array(fc.integer({ min: -5000, max: 5000 }), { minLength: n, maxLength: n })
  })
}

export type OpOutcome = { delta: unknown } | { refused: string }

/** Runs `call` on `state`: its delta (undefined for no change), or its refusal (a ContractError). Any other exception breaks op-errors. */
export function runOp (c: AnyContract, state: unknown, call: OpCall, ctx: OpContext): OpOutcome {
  const fn = Object.hasOwn(c.ops, call.op) ? c.ops[call.op] : undefined
  if (fn === undefined) throw new LawBroken('op-inputs', `the op arbitrary produced unknown op "${call.op}"`)
  try {
    // A copy of the arguments: an op that changes them must not change fast-check's value, or shrinking never ends.
    return { delta: fn(state, structuredClone(call.args), ctx) }
  } catch (err) {
    if (err instanceof ContractError) return { refused: err.message }
    throw new LawBroken('op-errors', `op ${call.op}(${show(call.args).slice(1, -1)}) threw ${errorText(err)}, not a ContractError`)
  }
}

/** validate on a state the history produced: a refusal breaks validate-accepts, whichever law is being checked. */
function revalidate (c: AnyContract, fn: 'validate' | 'validateSummary', x: unknown): unknown {
  try {
    return c[fn](roundTrip(x))
  } catch (err) {
    throw new LawBroken('validate-accepts', `${fn} rejects ${fn === 'validate' ? 'reachable state' : 'the summary of reachable state'} ${show(x)}: ${errorText(err)}`)
  }
}

/** Runs a history; `calls` (shared across histories by the op-inputs law) counts each op's calls and refusals. */
export function runHistory (c: AnyContract, h: History, calls = new Map<string, CallCount>()): World {
  const n = h.skew.length
  const states: unknown[] = []
  for (let i = 0; i < n; i++) states.push(c.empty())
  const world: World = { states: [states[0]], all: [states[0]], opDeltas: [], finals: states, calls }
  let t = BASE_TIME
  const record = (s: unknown, isDelta: boolean): void => {
    world.all.push(s)
    if (!isDelta) world.states.push(s)
  }
  for (const step of h.steps) {
    if (step.kind === 'op') {
      t += step.advance
      const i = step.replica % n
      const count = world.calls.get(step.call.op) ?? { made: 0, refused: 0 }
      world.calls.set(step.call.op, count)
      count.made++
      const out = runOp(c, states[i], step.call, { replica: REPLICAS[i], now: t + h.skew[i] })
      if ('refused' in out) {
        count.refused++
        count.lastRefusal = { call: step.call, message: out.refused }
        continue
      }
      const d = out.delta
      if (d === undefined) continue
      world.opDeltas.push(d)
      record(d, true)
      states[i] = c.merge(states[i], d)
      record(states[i], false)
    } else if (step.kind === 'deliver') {
      if (world.opDeltas.length === 0) continue
      const to = step.to % n
      states[to] = c.merge(states[to], world.opDeltas[step.delta % world.opDeltas.length])
      record(states[to], false)
    } else {
      const from = step.from % n
      const to = step.to % n
      if (step.kind === 'merge') {
        states[to] = c.merge(states[to], states[from])
      } else {
        const theirs = revalidate(c, 'validateSummary', c.summarize(states[to]))
        const d = c.delta(states[from], theirs)
        if (d === undefined) continue
        record(d, true)
        states[to] = c.merge(states[to], revalidate(c, 'validate', d))
      }
      record(states[to], false)
    }
  }
  return world
}
