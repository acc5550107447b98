/**
 * checkLaws: proves with fast-check that a contract is safe to replicate.
 * States are not drawn at random (a random "or-set" is usually not a state any
 * replica could reach); instead a random *history* is run: a few replicas with
 * skewed clocks apply random ops, merge each other's states, sync by summary
 * and delta, and receive single op deltas out of causal order (as a peer that
 * missed a push does). Every state and delta of that history is a sample, so the
 * common case needs only the contract and, optionally, a value arbitrary.
 */
import fc from 'fast-check'
import { decode, encode } from './codec.ts'
import type { AnyContract, OpContext } from './contract.ts'
import { ContractError } from './errors.ts'
import type { JsonValue } from './json.ts'

export const LAWS = [
  'merge-commutative', 'merge-associative', 'merge-idempotent', 'merge-identity', // law 1
  'delta-complete', // law 2
  'delta-minimal', // law 3
  'canonical-encoding', 'summary-faithful', // law 4
  'ops-converge', // law 5
  'validate-accepts', 'validate-rejects', 'op-errors' // law 6
] as const
export type LawName = typeof LAWS[number]

export interface OpCall { op: string, args: JsonValue[] }

export interface LawArbitraries {
  /** Values passed as the single argument of each op (default: small mixed JSON values that often collide). */
  value?: fc.Arbitrary<JsonValue>
  /** Whole op calls, for contracts whose ops take other arguments. Overrides `value`. */
  op?: fc.Arbitrary<OpCall>
}

export interface LawOptions {
  /** Runs per law (default 200). */
  numRuns?: number
  seed?: number
  /** Only these laws (default: all). */
  laws?: readonly LawName[]
  /** Replicas in each history (default 3). */
  replicas?: number
  /** Steps in each history (default 12). */
  maxSteps?: number
}

export interface LawFailure {
  law: LawName
  message: string
  /** The shrunk history and the states it produced, as readable JSON. */
  counterexample: string
  /** Replays this failure: pass as `seed`, and `path` to fast-check. */
  seed: number
  path?: string
}

export interface LawReport { ok: boolean, failures: LawFailure[] }

type Step =
  | { kind: 'op', replica: number, call: OpCall, advance: number }
  | { kind: 'merge', from: number, to: number }
  | { kind: 'sync', from: number, to: number }
  /** Merge one earlier op delta into a replica, whatever it has seen: out-of-order push delivery. */
  | { kind: 'deliver', delta: number, to: number }

interface History { steps: Step[], skew: number[] }

interface World {
  /** Snapshots of replica states (full states). */
  states: unknown[]
  /** States plus every delta produced along the way. */
  all: unknown[]
  /** Op deltas in the order they were made. */
  opDeltas: unknown[]
  finals: unknown[]
}

/** A fixed past instant, so clock-checking contracts accept every generated timestamp. */
const BASE_TIME = 1_700_000_000_000
const REPLICAS = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank']

/** Mostly two colliding values (ops on the same value are where contracts go wrong), sometimes anything small. */
export const defaultValue: fc.Arbitrary<JsonValue> = fc.oneof(
  { arbitrary: fc.constantFrom('a', 'b'), weight: 6 },
  fc.integer({ min: -2, max: 5 }),
  fc.constantFrom('a', 'b', 'c', ''),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.integer({ min: 0, max: 2 }), { maxLength: 2 }),
  fc.dictionary(fc.constantFrom('x', 'y'), fc.integer({ min: 0, max: 2 }), { maxKeys: 2 })
)

class LawBroken extends Error {
  readonly law: LawName
  constructor (law: LawName, message: string) { super(message); this.law = law }
}

function bytesEqual (a: unknown, b: unknown): boolean {
  return Buffer.compare(encode(a), encode(b)) === 0
}

/** JSON for humans: byte strings as hex. */
export function show (x: unknown): string {
  return JSON.stringify(x, (_k, v) => v instanceof Uint8Array ? `h'${Buffer.from(v).toString('hex')}'` : v)
}

function roundTrip (x: unknown): unknown { return decode(encode(x), { maxBytes: Number.MAX_SAFE_INTEGER }) }

function runHistory (c: AnyContract, h: History): World {
  const n = h.skew.length
  const states: unknown[] = []
  for (let i = 0; i < n; i++) states.push(c.empty())
  const world: World = { states: [states[0]], all: [states[0]], opDeltas: [], finals: states }
  let t = BASE_TIME
  const record = (s: unknown, isDelta: boolean): void => {
    world.all.push(s)
    if (!isDelta) world.states.push(s)
  }
  for (const step of h.steps) {
    if (step.kind === 'op') {
      t += step.advance
      const i = step.replica % n
      const fn = c.ops[step.call.op]
      if (fn === undefined) throw new LawBroken('op-errors', `op arbitrary produced unknown op "${step.call.op}"`)
      const ctx: OpContext = { replica: REPLICAS[i], now: t + h.skew[i] }
      let d: unknown
      try {
        d = fn(states[i], step.call.args, ctx)
      } catch (err) {
        if (err instanceof ContractError) continue // refused args are fine; anything else is not
        throw new LawBroken('op-errors', `op ${step.call.op}(${show(step.call.args)}) threw ${(err as Error)?.name}: ${(err as Error)?.message}, not a ContractError`)
      }
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
        const theirs = c.validateSummary(roundTrip(c.summarize(states[to])))
        const d = c.delta(states[from], theirs)
        if (d === undefined) continue
        record(d, true)
        states[to] = c.merge(states[to], c.validate(roundTrip(d)))
      }
      record(states[to], false)
    }
  }
  return world
}

function historyArb (c: AnyContract, arbs: LawArbitraries, opts: LawOptions): fc.Arbitrary<History> {
  const opNames = Object.keys(c.ops)
  const n = opts.replicas ?? 3
  const call: fc.Arbitrary<OpCall> = arbs.op ?? fc.record({ op: fc.constantFrom(...opNames), value: arbs.value ?? defaultValue })
    .map(({ op, value }) => ({ op, args: [value] }))
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

type Pick = (xs: unknown[]) => unknown

/**
 * A full state to test delta and summary laws on: a replica's snapshot, or the
 * fold of a random subset of the history's op deltas — what a replica that
 * missed some pushes holds, in no causal order.
 */
function pickState (c: AnyContract, w: World, pick: Pick): unknown {
  if (w.opDeltas.length === 0 || pick([0, 1]) === 0) return pick(w.states)
  return w.opDeltas.reduce((s, d) => (pick([0, 1]) === 0 ? s : c.merge(s, d)), c.empty())
}

/** One property per law: (contract, world, pickers) → throws LawBroken on violation. */
const checks: Record<LawName, (c: AnyContract, w: World, pick: Pick, garbage: unknown) => void> = {
  'merge-commutative': (c, w, pick) => {
    const a = pick(w.all); const b = pick(w.all)
    if (!bytesEqual(c.merge(a, b), c.merge(b, a))) throw new LawBroken('merge-commutative', `merge(a, b) ≠ merge(b, a) for a=${show(a)} b=${show(b)}`)
  },
  'merge-associative': (c, w, pick) => {
    const a = pick(w.all); const b = pick(w.all); const d = pick(w.all)
    if (!bytesEqual(c.merge(c.merge(a, b), d), c.merge(a, c.merge(b, d)))) {
      throw new LawBroken('merge-associative', `merge(merge(a, b), c) ≠ merge(a, merge(b, c)) for a=${show(a)} b=${show(b)} c=${show(d)}`)
    }
  },
  'merge-idempotent': (c, w, pick) => {
    const a = pick(w.all)
    if (!bytesEqual(c.merge(a, a), a)) throw new LawBroken('merge-idempotent', `merge(a, a) ≠ a for a=${show(a)}: got ${show(c.merge(a, a))}`)
  },
  'merge-identity': (c, w, pick) => {
    const a = pick(w.all)
    if (!bytesEqual(c.merge(c.empty(), a), a) || !bytesEqual(c.merge(a, c.empty()), a)) throw new LawBroken('merge-identity', `merge(empty, a) ≠ a for a=${show(a)}`)
  },
  'delta-complete': (c, w, pick) => {
    const a = pickState(c, w, pick); const b = pickState(c, w, pick)
    const d = c.delta(a, c.validateSummary(roundTrip(c.summarize(b))))
    const got = d === undefined ? b : c.merge(b, c.validate(roundTrip(d)))
    if (!bytesEqual(got, c.merge(a, b))) {
      throw new LawBroken('delta-complete', `merge(b, delta(a, summarize(b))) ≠ merge(a, b) for a=${show(a)} b=${show(b)}: delta=${show(d)}`)
    }
  },
  'delta-minimal': (c, w, pick) => {
    const a = pickState(c, w, pick); const b = pickState(c, w, pick)
    for (const target of [b, c.merge(a, b)]) {
      if (!bytesEqual(c.merge(a, target), target)) continue
      const d = c.delta(a, c.validateSummary(roundTrip(c.summarize(target))))
      if (d !== undefined) throw new LawBroken('delta-minimal', `b already contains a but delta(a, summarize(b)) = ${show(d)} for a=${show(a)} b=${show(target)}`)
    }
  },
  'canonical-encoding': (c, w, pick) => {
    const a = pick(w.all)
    const again = c.validate(roundTrip(a))
    if (!bytesEqual(again, a)) throw new LawBroken('canonical-encoding', `validate(decode(encode(a))) re-encodes differently for a=${show(a)}`)
    if (!bytesEqual(c.summarize(again), c.summarize(a))) throw new LawBroken('canonical-encoding', `equal states give different summaries for a=${show(a)}`)
  },
  'summary-faithful': (c, w, pick) => {
    const a = pickState(c, w, pick); const b = pickState(c, w, pick)
    if (bytesEqual(c.summarize(a), c.summarize(b)) && !bytesEqual(a, b)) {
      throw new LawBroken('summary-faithful', `equal summaries ${show(c.summarize(a))} for different states a=${show(a)} b=${show(b)}`)
    }
  },
  'ops-converge': (c, w, pick) => {
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
  'validate-accepts': (c, w, pick) => {
    const a = pick(w.all)
    let s: unknown
    try { s = c.validate(roundTrip(a)) } catch (err) { throw new LawBroken('validate-accepts', `validate rejects reachable state ${show(a)}: ${(err as Error).message}`) }
    if (!bytesEqual(s, a)) throw new LawBroken('validate-accepts', `validate changes reachable state ${show(a)}`)
    const sum = c.summarize(a)
    try { c.validateSummary(roundTrip(sum)) } catch (err) { throw new LawBroken('validate-accepts', `validateSummary rejects ${show(sum)}: ${(err as Error).message}`) }
    try { c.view(a) } catch (err) { throw new LawBroken('validate-accepts', `view throws on ${show(a)}: ${(err as Error).message}`) }
  },
  'validate-rejects': (c, w, pick, garbage) => {
    const base = pick(w.all)
    for (const x of [garbage, mutate(base, garbage, pick)]) {
      for (const fn of ['validate', 'validateSummary'] as const) {
        let s: unknown
        try {
          s = c[fn](x)
        } catch (err) {
          if (err instanceof ContractError) continue
          throw new LawBroken('validate-rejects', `${fn} threw ${(err as Error)?.name}, not a ContractError, on ${show(x)}: ${(err as Error)?.message}`)
        }
        // Accepted: it must then behave like a state (or summary) in every operation.
        try {
          if (fn === 'validate') { c.view(c.merge(c.merge(c.empty(), s), base)); c.summarize(s); encode(s) } else c.delta(base, s)
        } catch (err) {
          throw new LawBroken('validate-rejects', `${fn} accepted ${show(x)}, which then breaks: ${(err as Error)?.message}`)
        }
      }
    }
  },
  'op-errors': () => { /* checked while running every history */ }
}

/** Replaces one random sub-value of `x` with `garbage`. */
function mutate (x: unknown, garbage: unknown, pick: Pick): unknown {
  if (x === null || typeof x !== 'object' || x instanceof Uint8Array) return garbage
  const copy: Record<string, unknown> | unknown[] = Array.isArray(x) ? [...x] : { ...(x as object) }
  const keys = Object.keys(copy)
  if (keys.length === 0) return garbage
  const k = pick(keys) as string
  const inner = (copy as Record<string, unknown>)[k]
  ;(copy as Record<string, unknown>)[k] = pick([0, 1]) === 0 ? garbage : mutate(inner, garbage, pick)
  return copy
}

/** Checks every law (or `options.laws`) and reports each failure with its shrunk counterexample. */
export function checkLaws (contract: AnyContract, arbitraries: LawArbitraries = {}, options: LawOptions = {}): LawReport {
  const history = historyArb(contract, arbitraries, options)
  const failures: LawFailure[] = []
  const garbage = fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.constantFrom(undefined, [], {}, [[]], [['alice', [1, 1]]], -1, 1.5, new Uint8Array(2)))
  for (const law of options.laws ?? LAWS) {
    const details = fc.check(fc.property(history, fc.infiniteStream(fc.nat()), garbage, (h, stream, junk) => {
      const it = stream[Symbol.iterator]()
      const pick: Pick = xs => xs[it.next().value % xs.length]
      try {
        checks[law](contract, runHistory(contract, h), pick, junk)
      } catch (err) {
        if (err instanceof LawBroken) {
          if (err.law === law || law === 'op-errors') throw err
          return // another law's failure; that law reports it
        }
        throw new LawBroken(law, `threw ${(err as Error)?.name}: ${(err as Error)?.message}`)
      }
    }), { numRuns: options.numRuns ?? 200, seed: options.seed })
    if (details.failed) {
      const err = details.errorInstance
      failures.push({
        law,
        message: err instanceof Error ? err.message : String(err),
        counterexample: show(details.counterexample?.[0]),
        seed: details.seed,
        path: details.counterexamplePath ?? undefined
      })
    }
  }
  return { ok: failures.length === 0, failures }
}

/** Throws ContractError('law_broken') naming the first broken law and its counterexample. */
export function assertLaws (contract: AnyContract, arbitraries?: LawArbitraries, options?: LawOptions): void {
  const report = checkLaws(contract, arbitraries, options)
  if (report.ok) return
  const f = report.failures[0]
  throw new ContractError('law_broken',
    `contract "${contract.id}" breaks law ${f.law}: ${f.message}\n  counterexample history: ${f.counterexample}\n  replay: seed ${f.seed}${f.path ? `, path "${f.path}"` : ''}` +
    (report.failures.length > 1 ? `\n  also broken: ${report.failures.slice(1).map(x => x.law).join(', ')}` : ''))
}
