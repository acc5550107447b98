/**
 * Law inputs for the built-in contracts (see LawInputs in core/laws/types.ts):
 * argument generators that reach every op, now and then with arguments the op
 * must refuse, and models of what each view is after ops on one replica. The
 * tests in test/contracts/ check each built-in with these, 1,000 runs per law.
 */
import fc from 'fast-check'
import { canonicalEqual, compareCanonical } from '../core/codec.ts'
import type { JsonObject, JsonValue } from '../core/json.ts'
import type { LawInputs, LawInputsById, LawModel } from '../core/laws.ts'

const MAX = Number.MAX_SAFE_INTEGER

/** A counter amount: mostly small, sometimes near 2^53 − 1 (where sums stop being exact), now and then refused. */
const amount: fc.Arbitrary<JsonValue[]> = fc.oneof(
  { arbitrary: fc.tuple(fc.nat({ max: 5 })), weight: 8 },
  { arbitrary: fc.constant<JsonValue[]>([]), weight: 1 },
  { arbitrary: fc.tuple(fc.constantFrom(2 ** 52, MAX - 1)), weight: 1 },
  { arbitrary: fc.tuple(fc.constantFrom<JsonValue>(-1, 0.5, 'x')), weight: 1 }
)

/** Values that collide often (ops on one value are where sets go wrong), and a few shapes. */
const value: fc.Arbitrary<JsonValue> = fc.oneof(
  { arbitrary: fc.constantFrom<JsonValue>('a', 'b', 1), weight: 6 },
  { arbitrary: fc.constantFrom<JsonValue>('', 2.5, true, [1, 'a'], { x: 1 }), weight: 1 }
)
/** One value, now and then a wrong number of arguments. */
const oneValue: fc.Arbitrary<JsonValue[]> = fc.oneof(
  { arbitrary: fc.tuple(value), weight: 9 },
  { arbitrary: fc.constantFrom<JsonValue[]>([], ['a', 'b']), weight: 1 }
)

/** An exact integer as counters show it: a number while safe, else its decimal string. */
export function exactView (n: bigint): JsonValue {
  return n >= BigInt(-MAX) && n <= BigInt(MAX) ? Number(n) : n.toString()
}

function amountOf (args: readonly JsonValue[]): bigint {
  return BigInt(args.length === 0 ? 1 : args[0] as number)
}

const counterModel: LawModel<bigint> = {
  init: () => 0n,
  apply: (total, op, args) => (op === 'dec' ? total - amountOf(args) : total + amountOf(args)),
  view: exactView
}

/** Distinct values in canonical order: how g-set and or-set show their elements. */
function setView (values: readonly JsonValue[]): JsonValue {
  const out: JsonValue[] = []
  for (const v of [...values].sort(compareCanonical)) if (out.length === 0 || !canonicalEqual(out[out.length - 1], v)) out.push(v)
  return out
}

const setModel: LawModel<JsonValue[]> = {
  init: () => [],
  apply: (values, op, [v]) => (op === 'remove' ? values.filter(x => !canonicalEqual(x, v)) : [...values, v]),
  view: setView
}

type LogModelEntry = { at: number, replica: string, value: JsonValue }

/** The log's view after appends on one replica: hybrid-clock walls that never go back, the last `keepLast` kept. */
export function logModel (keepLast = Infinity): LawModel<LogModelEntry[]> {
  return {
    init: () => [],
    apply (entries, _op, [v], ctx) {
      const last = entries[entries.length - 1]
      const at = Math.max(Math.floor(ctx.now), last?.at ?? -Infinity)
      return [...entries, { at, replica: ctx.replica, value: v }].slice(-keepLast)
    },
    view: entries => entries.slice()
  }
}

/** or-map: fields f (always an or-set), g (a g-set, pn-counter or lww-register: contracts clash) and h (any). */
const NESTED: Record<string, fc.Arbitrary<[string, JsonValue[]]>> = {
  'g-set': fc.constantFrom<JsonValue>('a', 'b', 1).map(v => ['add', [v]]),
  'or-set': fc.tuple(fc.constantFrom('add', 'remove'), fc.constantFrom<JsonValue>('a', 'b', 1)).map(([op, v]) => [op, [v]]),
  'pn-counter': fc.tuple(fc.constantFrom('inc', 'dec'), fc.nat({ max: 3 })).map(([op, n]) => [op, [n]]),
  'lww-register': fc.constantFrom<JsonValue>('x', 'y', 3).map(v => ['set', [v]])
}
const FIELDS: Record<string, string[]> = { f: ['or-set'], g: ['g-set', 'pn-counter', 'lww-register'], h: Object.keys(NESTED) }

type MapModel = Record<string, { id: string, m: unknown }>

function nestedModel (id: string): LawModel<unknown> {
  return builtinLawInputs[id].model as LawModel<unknown>
}

/** A write that leaves an absent field's view as it was (inc(0), removing what is not there) changes nothing, so creates no field. */
const mapModel: LawModel<MapModel> = {
  init: () => ({}),
  apply (fields, op, args, ctx) {
    const [field] = args as [string]
    const out = { ...fields }
    if (op === 'remove') { delete out[field]; return out }
    const [, id, nestedOp, nestedArgs] = args as [string, string, string, JsonValue[]]
    const model = nestedModel(id)
    const before = out[field]?.m ?? model.init()
    const after = model.apply(before, nestedOp, nestedArgs, ctx)
    if (out[field] === undefined && canonicalEqual(model.view(after), model.view(before))) return out
    out[field] = { id, m: after }
    return out
  },
  view (fields) {
    const out: JsonObject = {}
    for (const [field, { id, m }] of Object.entries(fields)) out[field] = nestedModel(id).view(m)
    return out
  }
}

const orMapInputs: LawInputs = {
  ops: {
    apply: fc.constantFrom('f', 'g', 'h')
      .chain(field => fc.constantFrom(...FIELDS[field]).chain(id => NESTED[id].map(([op, args]): JsonValue[] => [field, id, op, args]))),
    remove: fc.constantFrom<JsonValue[]>(['f'], ['g'], ['h'])
  },
  model: mapModel
}

export const builtinLawInputs: LawInputsById = {
  'g-counter': { ops: { inc: amount }, model: counterModel },
  'pn-counter': { ops: { inc: amount, dec: amount }, model: counterModel },
  'lww-register': { ops: { set: oneValue }, model: { init: () => null, apply: (_v, _op, [v]) => v, view: v => v as JsonValue } },
  'mv-register': { ops: { set: oneValue }, model: { init: () => [], apply: (_v, _op, [v]) => [v], view: v => v as JsonValue } },
  'g-set': { ops: { add: oneValue }, model: setModel },
  'or-set': { ops: { add: oneValue, remove: oneValue }, model: setModel },
  log: { ops: { append: oneValue }, model: logModel() },
  'or-map': orMapInputs
}
