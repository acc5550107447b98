/**
 * One key's record: the contract it is bound to, its state, the cached summary
 * and the seq of its newest local delta. Stored as CBOR (local, not canonical:
 * nothing hashes or compares these bytes)
 *   { c: contract id, p?: params, v?: contract version, s: state, m?: summary's CBOR bytes, q: seq, g?: tail generation,
 *     e?: [[replica id, first seq], ...] }
 * with `m` absent when the summary is the state itself (counters): the record
 * then does not carry the state twice, and `v` absent when the key is bound to
 * an unversioned contract (as every record written before versions). `e` (the
 * key's epochs, see write-epochs.ts) names the replica id each local seq was
 * written under; records written before it have none. Writes
 * since the record was written live in the key's tail (key-tail.ts). Also: what binding a request names and
 * whether it matches the key's.
 */
import { type Plain, canonicalEqual, decode, encode, encodeLocal } from './codec.ts'
import type { AnyContract } from './contract.ts'
import type { ContractRegistry } from './registry.ts'
import { ContractError } from './errors.ts'
import type { JsonObject } from './json.ts'
import { recordKey, tailKey } from './key-layout.ts'
import { LOCAL_LIMITS, type TailState, decodeTail, freshTail, replayTail } from './key-tail.ts'
import { DamagedStoreError, type Storage } from './storage.ts'
import type { BoundRef } from './subscription.ts'
import { type Epochs, decodeEpochs } from './write-epochs.ts'

export { LOCAL_LIMITS } from './key-tail.ts'

/** A key's decoded record, immutable: a write makes a new one. */
export interface Entry {
  readonly binding: BoundRef
  readonly contract: AnyContract
  readonly state: Plain
  readonly summary: Plain
  /** Seq of the newest local delta (0 before the first). */
  readonly seq: number
  /** What storage holds in the key's tail: one mutable object shared by all the key's entries (see key-tail.ts). */
  readonly tail: TailState
  /** The replica id each local seq was written under (write-epochs.ts); empty in a record written before epochs were kept. */
  readonly epochs: Epochs
}

/** The key's entry after `state` replaced its state. */
export function withState (e: Entry, state: Plain, seq: number, epochs: Epochs = e.epochs): Entry {
  return { binding: e.binding, contract: e.contract, state, summary: e.contract.summarize(state) as Plain, seq, tail: e.tail, epochs }
}

export function freshEntry (binding: BoundRef, contract: AnyContract): Entry {
  const state = contract.empty() as Plain
  return { binding, contract, state, summary: contract.summarize(state) as Plain, seq: 0, tail: freshTail(), epochs: [] }
}

/** The record of entry `e`, as generation `gen` of the key's record. */
export function encodeRecord (e: Entry, gen: number): Uint8Array {
  const r: Record<string, Plain> = { c: e.binding.id, s: e.state, q: e.seq, g: gen }
  if (e.summary !== e.state) r.m = encodeLocal(e.summary)
  if (e.binding.params !== undefined) r.p = e.binding.params
  if (e.binding.version !== undefined) r.v = e.binding.version
  if (e.epochs.length > 0) r.e = e.epochs.map(([replica, first]) => [replica, first])
  return encodeLocal(r)
}

export interface StoredRecord {
  binding: BoundRef
  state: Plain
  summary: Plain
  seq: number
  /** Generation of the record (0 when written before tails existed). */
  gen: number
  epochs: Epochs
}

export function decodeRecord (bytes: Uint8Array, key: string): StoredRecord {
  const corrupt = (why: string): Error => new DamagedStoreError(`record of key ${JSON.stringify(key)} is corrupt (${why}): the data folder is damaged`)
  let r: Plain
  try {
    r = decode(bytes, LOCAL_LIMITS)
  } catch (err) {
    throw corrupt((err as Error).message)
  }
  if (r === null || typeof r !== 'object' || Array.isArray(r) || r instanceof Uint8Array) throw corrupt('not a map')
  const { c, p, v, s, m, q, g, e } = r as Record<string, Plain | undefined>
  if (typeof c !== 'string') throw corrupt('no contract id')
  if (v !== undefined && typeof v !== 'string') throw corrupt('contract version not text')
  if (p !== undefined && (p === null || typeof p !== 'object' || Array.isArray(p) || p instanceof Uint8Array)) throw corrupt('params not a map')
  if (m !== undefined && !(m instanceof Uint8Array)) throw corrupt('summary is not bytes')
  if (typeof q !== 'number' || !Number.isSafeInteger(q) || q < 0) throw corrupt('bad seq')
  if (g !== undefined && (typeof g !== 'number' || !Number.isSafeInteger(g) || g < 0)) throw corrupt('bad generation')
  if (s === undefined) throw corrupt('no state')
  const epochs = e === undefined ? [] : decodeEpochs(e)
  if (epochs === undefined) throw corrupt('bad epochs')
  const binding: BoundRef = { id: c, ...p === undefined ? {} : { params: p as JsonObject }, ...v === undefined ? {} : { version: v } }
  return { binding, state: s, summary: m === undefined ? s : decode(m, LOCAL_LIMITS), seq: q, gen: g ?? 0, epochs }
}

/**
 * Reads key `key` (UTF-8 `kb`) from storage: its record with its tail merged
 * in, or undefined if the key has no record. `resolve` gives the contract of
 * the record's binding (and may throw). See key-tail.ts for why the two reads
 * need no snapshot.
 */
export async function readStoredKey (storage: Storage, kb: Uint8Array, key: string, resolve: (binding: BoundRef) => AnyContract): Promise<Entry | undefined> {
  const rk = recordKey(kb)
  const tk = tailKey(kb)
  const tailBytes = await storage.get(tk) // first: see key-tail.ts
  const bytes = await storage.get(rk)
  const tail = tailBytes === undefined ? undefined : decodeTail(tailBytes, key)
  if (bytes === undefined) {
    if (tail !== undefined) throw new DamagedStoreError(`key ${JSON.stringify(key)} has a delta tail but no record: the data folder is damaged`)
    return undefined
  }
  const r = decodeRecord(bytes, key)
  if (tail !== undefined && tail.gen > r.gen) throw new DamagedStoreError(`delta tail of key ${JSON.stringify(key)} is of generation ${tail.gen}, newer than its record's ${r.gen}: the data folder is damaged`)
  const contract = resolve(r.binding)
  const t = replayTail(r.state, r.seq, r.gen, rk.length + bytes.length, tail, tk.length + (tailBytes?.length ?? 0), (a, b) => contract.merge(a, b) as Plain)
  const summary = t.tail.count === 0 ? r.summary : contract.summarize(t.state) as Plain
  return { binding: r.binding, contract, state: t.state, summary, seq: t.seq, tail: t.tail, epochs: r.epochs }
}

/**
 * A key's record is bound to a contract this store cannot resolve (missing, or another version of it).
 * The record stays as it is; reads and writes of the key fail with this until the contract is back.
 */
export class UnresolvedBindingError extends ContractError {
  /** The contract the key is bound to, as named on the wire (`id` or `id::version`). */
  readonly bound: string
  constructor (key: string, binding: BoundRef, cause: unknown) {
    const name = nameOf(binding)
    super('unknown_contract', `key ${JSON.stringify(key)} is held here, bound to ${describe(binding)}, which this store does not have: ${(cause as Error)?.message} (start it with that contract to read or write the key; nothing is lost meanwhile)`,
      { cause, contract: name })
    this.bound = name
  }
}

/** A binding's contract name as on the wire: `id`, or `id::version` (PROTOCOL.md §1). */
function nameOf (b: BoundRef): string {
  return b.version === undefined ? b.id : `${b.id}::${b.version}`
}

/**
 * The summary of key `key` as stored, read without resolving its contract: what the key's digest item
 * hash is made of, for a key bound to a contract this store lacks. Exact only when the record holds
 * the key's whole state (no live tail: a tail's deltas need the contract to be merged); else
 * `summary` is undefined. Undefined when the key has no record.
 */
export async function readStoredSummary (storage: Storage, kb: Uint8Array, key: string): Promise<{ binding: BoundRef, summary: Plain | undefined } | undefined> {
  const tk = tailKey(kb)
  const tailBytes = await storage.get(tk) // first: see key-tail.ts
  const bytes = await storage.get(recordKey(kb))
  if (bytes === undefined) return undefined
  const r = decodeRecord(bytes, key)
  const tail = tailBytes === undefined ? undefined : decodeTail(tailBytes, key)
  if (tail !== undefined && tail.gen > r.gen) throw new DamagedStoreError(`delta tail of key ${JSON.stringify(key)} is of generation ${tail.gen}, newer than its record's ${r.gen}: the data folder is damaged`)
  const live = tail !== undefined && tail.gen === r.gen && tail.items.length > 0
  return { binding: r.binding, summary: live ? undefined : r.summary }
}

/** The binding a parsed request names, params normalized (`{}` means none), with `version` if there is one. */
export function bindingOf (ref: { id: string, params?: JsonObject }, version?: string): BoundRef {
  const b: BoundRef = ref.params === undefined || Object.keys(ref.params).length === 0 ? { id: ref.id } : { id: ref.id, params: ref.params }
  if (version !== undefined) b.version = version
  return b
}

/**
 * Throws ContractError('contract_mismatch') unless the request names the key's
 * bound contract: same id, and same params when it gives any. Versions are
 * checked where contracts are resolved (a key's binding resolves only to a
 * contract of its version) and by `checkVersion`.
 */
export function checkBinding (key: string, bound: BoundRef, wanted: { id: string, params?: JsonObject }): void {
  const sameParams = wanted.params === undefined || Object.keys(wanted.params).length === 0 ||
    canonicalEqual(wanted.params, bound.params ?? {})
  if (wanted.id === bound.id && sameParams) return
  throw new ContractError('contract_mismatch', `key ${JSON.stringify(key)} is bound to ${describe(bound)}, not ${describe(bindingOf(wanted))}`)
}

/**
 * Throws ContractError('unknown_contract') unless `version` (undefined: unversioned) is the version of the
 * key's binding: a delta of another version of the contract is one of a contract this peer lacks.
 */
export function checkVersion (key: string, bound: BoundRef, version: string | undefined): void {
  if (bound.version === version) return
  throw new ContractError('unknown_contract', `key ${JSON.stringify(key)} is bound to ${describe(bound)} here, not ${describe({ id: bound.id, ...version === undefined ? {} : { version } })}: another code under the same id`)
}

function describe (b: BoundRef): string {
  const v = b.version === undefined ? '' : ` version "${b.version}"`
  return b.params === undefined ? `contract "${b.id}"${v}` : `contract "${b.id}"${v} with params ${JSON.stringify(b.params)}`
}

/** Resolves the contracts keys are bound to (caching configured ones) and checks requests against a key's binding. */
export class ContractBinder {
  readonly #registry: ContractRegistry
  readonly #configured = new Map<string, AnyContract>()
  mismatches = 0

  constructor (registry: ContractRegistry) {
    this.#registry = registry
  }

  /** The contract of a binding, of the binding's version (else ContractError('unknown_contract')). */
  resolve (binding: BoundRef): AnyContract {
    // Another version than the registered one: resolveBound throws, naming both.
    if (binding.params === undefined || binding.version !== this.#registry.versionOf(binding.id)) return this.#registry.resolveBound(binding)
    const id = binding.id + ' ' + Buffer.from(encode(binding.params)).toString('hex')
    let c = this.#configured.get(id)
    if (c === undefined) this.#configured.set(id, c = this.#registry.resolveBound(binding))
    return c
  }

  /**
   * The entry a write to `key` works on: `head`, if the request names its contract (else a counted
   * contract_mismatch; a version, if the request gives one, must be the binding's), or a fresh one for a
   * new key, bound to the registered contract's version.
   */
  entryFor (key: string, head: Entry | undefined, wanted: { id: string, params?: JsonObject, version?: string }): Entry {
    if (head === undefined) {
      const binding = bindingOf(wanted, wanted.version ?? this.#registry.versionOf(wanted.id))
      return freshEntry(binding, this.#forKey(key, this.resolve(binding)))
    }
    try {
      checkBinding(key, head.binding, wanted)
    } catch (err) {
      this.mismatches++
      throw err
    }
    if (wanted.version !== undefined) checkVersion(key, head.binding, wanted.version)
    return head
  }

  /** The version of the registered contract `id`, if it declares one. */
  versionOf (id: string): string | undefined {
    return this.#registry.versionOf(id)
  }

  /** A counted contract_mismatch (a request naming another binding than the key's). */
  mismatch (message: string): ContractError {
    this.mismatches++
    return new ContractError('contract_mismatch', message)
  }

  /**
   * `c`, unless it is bound to another key (Contract.boundKey: an owned key's binding names its key, so a
   * signed change cannot be replayed into another key): then a counted contract_mismatch.
   */
  #forKey (key: string, c: AnyContract): AnyContract {
    const bound = (c as { boundKey?: unknown }).boundKey
    if (bound === undefined || bound === key) return c
    throw this.mismatch(`a binding of key ${JSON.stringify(String(bound).slice(0, 80))} cannot bind key ${JSON.stringify(key.slice(0, 80))}`)
  }
}
