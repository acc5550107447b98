/**
 * The workload: random ops on random keys over every built-in contract
 * (or-map with nested ops too), and the record of what was written. Each key
 * is bound to one contract for the whole run. An op is *acknowledged* when
 * store.update resolved (its write committed); an op caught by a crash is only
 * *attempted*: its effect may or may not survive. The checker uses both.
 */
import type { Plain } from '../core/codec.ts'
import type { ContractRef } from '../core/contract.ts'
import type { JsonValue } from '../core/json.ts'
import type { Random } from './random.ts'

export interface PlannedKey { key: string, ref: ContractRef }
export interface Op { name: string, args: JsonValue[] }
export interface KeyHistory { ref: ContractRef, acked: Plain[], attempted: Plain[] }

/** Every built-in contract, and the log with a bound (so dropping old entries is exercised). */
export const KEY_CONTRACTS: readonly ContractRef[] = [
  'g-counter', 'pn-counter', 'lww-register', 'mv-register', 'g-set', 'or-set', 'log', { id: 'log', params: { keepLast: 4 } }, 'or-map'
]

/** or-map fields, each always holding the same nested contract (a field cannot change contract without a remove). */
const MAP_FIELDS: ReadonlyArray<[field: string, contract: string]> = [
  ['hits', 'g-counter'], ['score', 'pn-counter'], ['tags', 'or-set'], ['title', 'lww-register'], ['owner', 'mv-register'], ['seen', 'g-set'], ['events', 'log'], ['child', 'or-map']
]

const VALUES: readonly JsonValue[] = ['a', 'b', 'c', 'd', 'e', 1, 2, { x: 1 }, [true, null]]

export function keyName (i: number): string {
  return `k${String(i).padStart(5, '0')}`
}

const idOf = (ref: ContractRef): string => (typeof ref === 'string' ? ref : ref.id)

/** The key contracts whose ids are listed (all when `ids` is undefined); throws RangeError naming an unknown id. */
export function keyContracts (ids?: readonly string[]): ContractRef[] {
  if (ids === undefined) return [...KEY_CONTRACTS]
  const known = new Set(KEY_CONTRACTS.map(idOf))
  for (const id of ids) if (!known.has(id)) throw new RangeError(`unknown contract "${id}"; known: ${[...known].join(', ')}`)
  return KEY_CONTRACTS.filter(ref => ids.includes(idOf(ref)))
}

/** Binds each of `keys` keys to a contract, cycling through them from a random start so every contract is used. */
export function planKeys (rng: Random, keys: number, contracts: readonly ContractRef[] = KEY_CONTRACTS): PlannedKey[] {
  const start = rng.int(0, contracts.length - 1)
  return Array.from({ length: keys }, (_, i) => ({ key: keyName(i), ref: contracts[(start + i) % contracts.length] }))
}

/** A random op for a key bound to `ref`. */
export function randomOp (rng: Random, ref: ContractRef): Op {
  const id = idOf(ref)
  if (id === 'or-map') {
    const [field, nested] = rng.pick(MAP_FIELDS)
    if (rng.chance(0.15)) return { name: 'remove', args: [field] }
    const inner = nested === 'or-map' ? randomOp(rng, 'g-counter') : randomOp(rng, nested)
    const args: JsonValue = nested === 'or-map' ? ['n', 'g-counter', inner.name, inner.args] : inner.args
    return { name: 'apply', args: [field, nested, nested === 'or-map' ? 'apply' : inner.name, args] }
  }
  return nestedOp(rng, id)
}

function nestedOp (rng: Random, id: string): Op {
  const value = (): JsonValue => rng.pick(VALUES)
  switch (id) {
    case 'g-counter': return { name: 'inc', args: [rng.int(1, 5)] }
    case 'pn-counter': return rng.chance(0.5) ? { name: 'inc', args: [rng.int(1, 5)] } : { name: 'dec', args: [rng.int(1, 5)] }
    case 'lww-register': case 'mv-register': return { name: 'set', args: [value()] }
    case 'g-set': return { name: 'add', args: [value()] }
    case 'or-set': return rng.chance(0.6) ? { name: 'add', args: [value()] } : { name: 'remove', args: [value()] }
    case 'log': return { name: 'append', args: [value()] }
    default: throw new Error(`no workload for contract ${id}`)
  }
}

/** What was written to each key, for the checker. */
export class WriteLog {
  readonly #keys = new Map<string, KeyHistory>()
  acked = 0
  /** Ops caught by a crash: attempted, never acknowledged. */
  unacked = 0
  /** Ops that changed nothing (no delta). */
  noops = 0

  record (key: string, ref: ContractRef, delta: Plain | undefined, acked: boolean): void {
    if (delta === undefined) { this.noops++; return }
    let h = this.#keys.get(key)
    if (h === undefined) this.#keys.set(key, h = { ref, acked: [], attempted: [] })
    h.attempted.push(delta)
    if (acked) { h.acked.push(delta); this.acked++ } else this.unacked++
  }

  keys (): string[] {
    return [...this.#keys.keys()].sort()
  }

  get (key: string): KeyHistory | undefined {
    return this.#keys.get(key)
  }
}
