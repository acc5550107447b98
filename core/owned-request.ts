/**
 * What binding a write request means for an owned key (ReplicaStore.update's `writers` option):
 * - writers given and the key new: the key is bound to ownedBinding(key, the named contract, writers);
 * - the key owned: the request may name its inner contract (so apps keep naming "or-set") or its owned
 *   binding; writers given must be the key's first writers;
 * - writers given for a key that is not owned: contract_mismatch.
 */
import { canonicalEqual } from './codec.ts'
import { OWNED, ownedBinding, ownedInfo } from './envelope/index.ts'
import { ContractError } from './errors.ts'
import type { JsonObject } from './json.ts'
import { bindingOf, checkBinding, checkVersion, type ContractBinder } from './key-record.ts'
import type { BoundRef } from './subscription.ts'

type Wanted = { id: string, params?: JsonObject, version?: string }

/** Checks a `writers` option: 1..16 `ed25519:` public keys; throws ContractError('bad_args'). */
export function checkWritersOption (writers: unknown): string[] {
  if (!Array.isArray(writers) || writers.some(w => typeof w !== 'string')) throw new ContractError('bad_args', 'writers must be a list of public keys ("ed25519:...")')
  ownedBinding('-', { id: OWNED }, writers) // parses every key, refusing bad ones, duplicates and too many
  return writers
}

/** The binding a write to `key` (bound to `head`, undefined if new) must be checked against, as ContractBinder.entryFor wants it. */
export function wantedFor (key: string, head: BoundRef | undefined, wanted: Wanted, writers: string[] | undefined, binder: ContractBinder): Wanted {
  if (head === undefined) {
    if (writers === undefined || wanted.id === OWNED) {
      if (writers !== undefined) sameWriters(key, ownedInfo(bindingOf(wanted))?.writers0, writers, binder)
      return wanted
    }
    const inner = bindingOf(wanted, wanted.version ?? binder.versionOf(wanted.id))
    const b = ownedBinding(key, inner, writers)
    return { id: b.id, params: b.params }
  }
  const info = ownedInfo(head)
  if (info === undefined) {
    if (writers !== undefined) throw binder.mismatch(`key ${JSON.stringify(key)} is not owned (bound to contract "${head.id}"): it cannot be given writers`)
    return wanted
  }
  if (writers !== undefined) sameWriters(key, info.writers0, writers, binder)
  if (wanted.id === OWNED) return wanted
  try {
    checkBinding(key, info.inner, wanted)
  } catch (err) {
    binder.mismatches++
    throw err
  }
  if (wanted.version !== undefined) checkVersion(key, info.inner, wanted.version)
  return { id: OWNED }
}

function sameWriters (key: string, have: string[] | undefined, writers: string[], binder: ContractBinder): void {
  if (have !== undefined && canonicalEqual(have, writers)) return
  throw binder.mismatch(`key ${JSON.stringify(key)} has writers ${JSON.stringify(have ?? [])}, not ${JSON.stringify(writers)} (the owner changes writers with op "@writers")`)
}
