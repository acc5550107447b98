/**
 * Valid messages of every type the inbound path reads (core/sync/messages.ts's nine and
 * inspect-messages.ts's two), built with the protocol's own encoders and real contract states:
 * the seeds the fuzzer mutates. States come from the built-in contracts' ops, on a small pool
 * of keys, so mutated pushes that stay valid really merge and keys accumulate.
 */
import type { Plain } from '../../core/codec.ts'
import type { AnyContract } from '../../core/contract.ts'
import type { JsonValue } from '../../core/json.ts'
import type { ContractRegistry } from '../../core/registry.ts'
import type { BoundRef } from '../../core/subscription.ts'
import { HASH_BYTES } from '../../core/sync/key-index.ts'
import { type DeltaItem, ITEM_HASH_BYTES, MESSAGE_TYPES, type Message, type MessageType, RANGE_FP_BYTES, SALTED_HASH_BYTES, type Summary, encodeMessage } from '../../core/sync/messages.ts'
import { type InspectMessage, type PeerKeyState, QUERY_ID_BYTES, encodeInspectMessage } from '../../core/sync/inspect-messages.ts'
import type { Prng } from './prng.ts'

/** Every type the fuzzer drives: the sync messages' and the inspection messages'. */
export type FuzzType = MessageType | 'inspect' | 'inspected'
export const FUZZ_TYPES: readonly FuzzType[] = [...MESSAGE_TYPES, 'inspect', 'inspected']

/** How each contract's ops are fed: an op name and its args. */
const RECIPES: ReadonlyArray<{ id: string, op: (r: Prng) => [string, JsonValue[]] }> = [
  { id: 'g-counter', op: r => ['inc', [r.range(1, 1000)]] },
  { id: 'pn-counter', op: r => [r.pick(['inc', 'dec']), [r.range(1, 1000)]] },
  { id: 'lww-register', op: r => ['set', [jsonValue(r, 2)]] },
  { id: 'mv-register', op: r => ['set', [jsonValue(r, 2)]] },
  { id: 'g-set', op: r => ['add', [jsonValue(r, 1)]] },
  { id: 'or-set', op: r => [r.pick(['add', 'add', 'remove']), [r.pick(['a', 'b', 'c', 1, 2])]] },
  { id: 'log', op: r => ['append', [jsonValue(r, 1)]] },
  { id: 'or-map', op: r => ['apply', [r.pick(['f', 'g', 'h']), 'g-counter', 'inc', [r.range(1, 50)]]] }
]
const REPLICAS = ['fuzzreplica1', 'fuzzreplica2', 'fuzzreplica3']
/**
 * The samples' clock: a fixed past time plus a few seconds, from the PRNG, so the bytes of every frame follow
 * from the seed alone (validity never depends on the receiver's clock: contracts/hlc.ts).
 */
const FUZZ_EPOCH_MS = 1_700_000_000_000
const fuzzNow = (r: Prng): number => FUZZ_EPOCH_MS + r.int(10_000)

/** Keys the samples write: few enough that valid items land on keys already held. */
export const KEY_POOL = 48

function jsonValue (r: Prng, depth: number): JsonValue {
  switch (r.int(depth > 0 ? 6 : 4)) {
    case 0: return r.range(-1000, 1000)
    case 1: return r.text(8)
    case 2: return r.chance(0.5)
    case 3: return null
    case 4: return Array.from({ length: r.int(3) }, () => jsonValue(r, depth - 1))
    default: return Object.fromEntries(Array.from({ length: r.int(3) }, () => [r.text(4), jsonValue(r, depth - 1)]))
  }
}

export interface StateSample { key: string, contract: BoundRef, state: Plain, delta: Plain, summary: Plain }

/** A key of the pool with a real state of its contract (1 to 4 ops from a few replicas), the last op's delta, and the state's summary. */
export function stateSample (r: Prng, registry: ContractRegistry): StateSample {
  const k = r.int(KEY_POOL)
  const recipe = RECIPES[k % RECIPES.length]
  const c = registry.get(recipe.id) as AnyContract
  let state = c.empty() as Plain
  let delta = state
  const ops = r.range(1, 4)
  for (let i = 0; i < ops; i++) {
    const [op, args] = recipe.op(r)
    const d = c.ops[op](state, args, { replica: r.pick(REPLICAS), now: fuzzNow(r) }) as Plain | undefined
    if (d === undefined) continue
    delta = d
    state = c.merge(state, d) as Plain
  }
  return { key: `fuzz/${recipe.id}/${k}`, contract: { id: recipe.id }, state, delta, summary: c.summarize(state) as Plain }
}

const sortedUnique = (keys: string[]): string[] => [...new Set(keys)].sort()

function deltaItems (r: Prng, registry: ContractRegistry, max: number): DeltaItem[] {
  const byKey = new Map<string, DeltaItem>()
  for (let i = r.range(1, max); i > 0; i--) {
    const s = stateSample(r, registry)
    byKey.set(s.key, { key: s.key, contract: s.contract, delta: r.chance(0.5) ? s.state : s.delta })
  }
  return [...byKey.values()]
}

function summaries (r: Prng, registry: ContractRegistry, max: number): Summary[] {
  const byKey = new Map<string, Summary>()
  for (let i = r.int(max + 1); i > 0; i--) {
    const s = stateSample(r, registry)
    byKey.set(s.key, { key: s.key, contract: s.contract, summary: s.summary })
  }
  return [...byKey.values()].sort((a, b) => (a.key < b.key ? -1 : 1))
}

const sid = (r: Prng): { n: number, fromInitiator: boolean } => ({ n: r.int(1000), fromInitiator: r.chance(0.5) })

/** A valid message of `type`, as an object (sync messages only). */
export function sampleMessage (type: MessageType, r: Prng, registry: ContractRegistry): Message {
  switch (type) {
    case 'push': return { type, items: deltaItems(r, registry, 4) }
    case 'writes': {
      const items = deltaItems(r, registry, 4)
      return { type, items, writes: items.map(() => r.chance(0.3) ? undefined : { replica: r.pick(REPLICAS), first: 1, last: r.range(1, 4), writtenAt: fuzzNow(r) }) }
    }
    case 'digest': {
      const fp = r.bytes(HASH_BYTES)
      const was = r.chance(0.3) ? r.bytes(HASH_BYTES) : undefined
      return r.chance(0.2) ? { type, fp, ...(was === undefined ? {} : { was }), partial: true } : { type, fp, ...(was === undefined ? {} : { was }) }
    }
    case 'ranges': {
      const keys = sortedUnique(Array.from({ length: r.int(6) }, () => stateSample(r, registry).key))
      const cut = keys.length > 1 ? keys[1] : 'fuzz/m'
      return {
        type,
        sid: sid(r),
        seq: r.int(10),
        fps: r.chance(0.5)
          ? [{ lo: '', hi: cut, count: r.int(100), fp: r.bytes(RANGE_FP_BYTES) }, { lo: cut, hi: null, count: r.int(100), fp: r.bytes(RANGE_FP_BYTES) }]
          : [{ lo: '', hi: null, count: r.int(100), fp: r.bytes(RANGE_FP_BYTES) }],
        items: r.chance(0.5) ? [{ lo: '', hi: null, items: keys.map(k => [k, r.bytes(ITEM_HASH_BYTES)] as [string, Uint8Array]) }] : [],
        sums: r.chance(0.5) ? [{ lo: '', hi: null, sums: summaries(r, registry, 4) }] : []
      }
    }
    case 'sums': return { type, sid: sid(r), seq: r.int(10), reply: r.chance(0.5), sums: summaries(r, registry, 4), lacking: sortedUnique(Array.from({ length: r.int(3) }, () => `fuzz/lacking/${r.int(20)}`)) }
    case 'deltas': return { type, sid: sid(r), seq: r.int(10), check: r.chance(0.5), items: deltaItems(r, registry, 4).sort((a, b) => (a.key < b.key ? -1 : 1)) }
    case 'ack': return { type, sid: sid(r), re: r.int(10), spawned: Array.from({ length: r.int(3) }, () => r.int(10)), hashes: Array.from({ length: r.int(4) }, () => r.bytes(ITEM_HASH_BYTES)) }
    case 'want': return { type, keys: sortedUnique(Array.from({ length: r.range(1, 4) }, () => stateSample(r, registry).key)) }
    case 'scope': return { type, fp: r.bytes(HASH_BYTES) }
    case 'salted': {
      const keys = sortedUnique(Array.from({ length: r.int(6) }, () => stateSample(r, registry).key))
      return { type, sid: sid(r), seq: r.int(10), salt: r.bytes(16), lists: [{ lo: '', hi: null, items: keys.map(k => [k, r.bytes(SALTED_HASH_BYTES)] as [string, Uint8Array]) }] }
    }
  }
}

function sampleInspect (type: 'inspect' | 'inspected', r: Prng, registry: ContractRegistry, self: string): InspectMessage {
  const qid = r.bytes(QUERY_ID_BYTES)
  if (type === 'inspect') {
    const s = stateSample(r, registry)
    const write = r.chance(0.5) ? `${r.pick(REPLICAS)}/${r.range(1, 9)}` : undefined
    return {
      type,
      qid,
      key: s.key,
      ...(r.chance(0.5) ? { mine: { contract: s.contract, digest: r.bytes(HASH_BYTES), summary: s.summary } } : {}),
      ...(write === undefined ? {} : { write, ...(r.chance(0.5) ? { since: fuzzNow(r) } : {}) })
    }
  }
  const s = stateSample(r, registry)
  const states: PeerKeyState[] = [
    { kind: 'kept', contract: s.contract, digest: r.bytes(HASH_BYTES), summary: s.summary, tooLarge: false, hasMore: r.chance(0.5) },
    { kind: 'kept', tooLarge: false },
    { kind: 'not_kept' },
    { kind: 'lacks_contract', contract: 'nowhere' }
  ]
  return {
    type,
    qid,
    to: r.chance(0.7) ? self : 'someone-else',
    replica: r.pick(REPLICAS),
    state: r.pick(states),
    ...(r.chance(0.5) ? { arrival: { at: fuzzNow(r), path: 'push', from: 'a-peer', exact: r.chance(0.5) } } : {}),
    ...(r.chance(0.5) ? { written: r.pick([{ status: 'logged' as const, delta: s.delta }, { status: 'too_old' as const }, { status: 'unknown' as const }]) } : {}),
    ...(r.chance(0.3) ? { refused: { at: fuzzNow(r), reason: 'invalid', message: 'a refusal' } } : {}),
    ...(r.chance(0.3) ? { received: { at: fuzzNow(r), path: 'push' } } : {})
  }
}

/** The canonical bytes of a valid message of `type` (`self`: the receiving peer, whom answers are addressed to). */
export function sampleBytes (type: FuzzType, r: Prng, registry: ContractRegistry, self: string): Uint8Array {
  if (type === 'inspect' || type === 'inspected') return encodeInspectMessage(sampleInspect(type, r, registry, self))
  return encodeMessage(sampleMessage(type, r, registry))
}
