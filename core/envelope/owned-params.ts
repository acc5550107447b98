/**
 * The parameters of an owned key's binding, `{ "key", "contract", "writers" }`, parsed and checked once per
 * binding: the inner contract resolved through the registry, the writers' public keys, and the hash every
 * signature covers. Only one spelling of each binding is accepted (the inner contract as its id string when
 * it has no params and no version), so two daemons creating one key bind it identically.
 */
import { createHash } from 'node:crypto'
import type { AnyContract, ContractRef } from '../contract.ts'
import { ContractError } from '../errors.ts'
import { type JsonObject, isPlainObject, short } from '../json.ts'
import { parseRef } from '../registry.ts'
import type { BoundRef } from '../subscription.ts'
import { paramsHash } from './signed-bytes.ts'
import { type Bytes, WID_BYTES, hex } from './state.ts'
import { formatPublicKey, parsePublicKey } from './signing.ts'

export const OWNED = 'owned'
export const MAX_WRITERS = 16
/**
 * Most lanes (blocks) a writer has per gen: one per store it writes the key from. A merge keeps each (writer,
 * gen)'s MAX_LANES smallest lanes (lanes.ts), a state with more is invalid, and a store refuses a write that would
 * open one more, so a writer cannot inflate its key's summary and fold with lanes of its own choosing.
 */
export const MAX_LANES = 16
/** Default OwnedConfig.fanout. */
export const CKPT_FANOUT = 8
const MAX_KEY_CHARS = 4096

export interface OwnedConfig {
  readonly params: JsonObject
  readonly key: string
  readonly inner: AnyContract
  readonly innerRef: BoundRef
  /** params.writers, parsed; writers[0] is the owner. */
  readonly writers: readonly Bytes[]
  readonly owner: Bytes
  /** sha256 of the canonical params: in every signature. */
  readonly ph: Uint8Array
  /** Writer id (hex) → public key, of params.writers. */
  readonly paramsWids: ReadonlyMap<string, Bytes>
  /** A writer replaces this many like items of its block (entries, or checkpoints of one length) by one checkpoint: local policy, not validity. */
  readonly fanout: number
  /** Resolves inner contract refs (the registry's). */
  readonly resolve: (ref: BoundRef) => AnyContract
}

const badArgs = (why: string): never => { throw new ContractError('bad_args', `owned: ${why}`) }

/** The inner contract reference of params as a BoundRef, checking it is spelled canonically. */
export function innerRefOf (x: unknown): BoundRef {
  const ref = parseRef(x)
  if (typeof x !== 'string' && ref.params === undefined && ref.version === undefined) badArgs(`params.contract ${short(x)} must be written as the id string "${ref.id}"`)
  if (ref.params !== undefined && Object.keys(ref.params).length === 0) badArgs('params.contract has empty params: leave them out')
  return ref
}

/** The params of a binding `ownedBinding(key, inner, writers)` makes (no check of the writers). */
export function innerRefPlain (inner: BoundRef): ContractRef {
  const hasParams = inner.params !== undefined && Object.keys(inner.params).length > 0
  if (!hasParams && inner.version === undefined) return inner.id
  return { id: inner.id, ...hasParams ? { params: inner.params } : {}, ...inner.version === undefined ? {} : { version: inner.version } }
}

export function parseWriters (x: unknown): Bytes[] {
  if (!Array.isArray(x) || x.length < 1 || x.length > MAX_WRITERS) badArgs(`writers must be a list of 1 to ${MAX_WRITERS} public keys ("ed25519:..."), the first the owner`)
  const seen = new Set<string>()
  return (x as unknown[]).map(w => {
    const pub = parsePublicKey(w as string)
    if (seen.has(w as string)) badArgs(`writer ${w as string} is listed twice`)
    seen.add(w as string)
    return pub
  })
}

export function parseOwnedParams (params: JsonObject, resolve: (ref: BoundRef) => AnyContract): OwnedConfig {
  if (!isPlainObject(params)) badArgs('params must be an object')
  const keys = Object.keys(params).sort().join()
  if (keys !== 'contract,key,writers') badArgs(`params must be exactly {"key", "contract", "writers"}, got keys ${short(Object.keys(params))}`)
  const { key, contract } = params
  if (typeof key !== 'string' || key.length === 0 || key.length > MAX_KEY_CHARS) badArgs('params.key must be the key\'s name')
  const innerRef = innerRefOf(contract)
  if (innerRef.id === OWNED) badArgs('an owned key cannot wrap another owned contract')
  const inner = resolve(innerRef)
  for (const op of Object.keys(inner.ops)) if (op.startsWith('@')) badArgs(`inner contract "${inner.id}" has op "${op}": ops starting with "@" are the envelope's`)
  const writers = parseWriters(params.writers)
  const paramsWids = new Map<string, Bytes>()
  for (const w of writers) paramsWids.set(hex(w.subarray(0, WID_BYTES)), w)
  return { params, key: key as string, inner, innerRef, writers, owner: writers[0], ph: paramsHash(params), paramsWids, resolve, fanout: CKPT_FANOUT }
}

/** The binding of an owned key: `{id: "owned", params: {key, contract, writers}}`. Writers are `ed25519:` public keys, the first the owner. */
export function ownedBinding (key: string, inner: BoundRef, writers: string[]): BoundRef {
  return { id: OWNED, params: { key, contract: innerRefPlain(inner) as JsonObject | string, writers: parseWriters(writers).map(formatPublicKey) } }
}

/** The inner contract and first writers of an owned binding; undefined when the binding is not an owned key's. */
export function ownedInfo (binding: BoundRef): { inner: BoundRef, writers0: string[] } | undefined {
  if (binding.id !== OWNED || binding.params === undefined) return undefined
  try {
    const inner = innerRefOf(binding.params.contract)
    const writers0 = parseWriters(binding.params.writers).map(formatPublicKey)
    return { inner, writers0 }
  } catch {
    return undefined
  }
}

/**
 * The replica id a writer's events are recorded under in lane `lane` and generation `gen`: "o" and the first
 * 23 hex digits of sha256("monoidb/replica" || pub || lane || u64 gen). As long as a store's own id (24 hex
 * digits), and never one (the "o"). A new gen is a new id: a writer revoked and granted again never reuses a
 * dot its revoke left out.
 */
export function writerReplica (pub: Bytes, lane: Bytes, gen = 0): string {
  const g = new Uint8Array(8)
  new DataView(g.buffer).setBigUint64(0, BigInt(gen))
  return 'o' + createHash('sha256').update('monoidb/replica').update(pub).update(lane).update(g).digest('hex').slice(0, 23)
}

/** The lane of the store whose replica id is `replica`: the first 8 bytes of its sha256. */
export function laneOf (replica: string): Bytes {
  return new Uint8Array(createHash('sha256').update(replica).digest().subarray(0, 8))
}
