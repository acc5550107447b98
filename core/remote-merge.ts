/**
 * Merging remote deltas into one key. Each delta is validated, then checked
 * against what the key holds: `delta(d, our summary)` is undefined exactly when
 * merging d changes nothing (laws 2 and 3), which is far cheaper than merging a
 * small delta into a large state to find out. The deltas that do bring
 * something are first joined with each other (small into small) and the key's
 * state is merged once per group, not once per delta.
 */
import type { Plain } from './codec.ts'
import type { AnyContract } from './contract.ts'
import { ContractError } from './errors.ts'
import type { JsonObject } from './json.ts'
import { type Entry, checkVersion } from './key-record.ts'

/** `wanted`: the binding the delta was sent under; its version (none: unversioned) must be the key's. */
export interface RemoteItem { index: number, wanted: { id: string, params?: JsonObject, version?: string }, delta: unknown, origin: string, writes?: readonly string[] }
/** Where a change came from, for its subscribers: a peer id (or 'local') and the write ids it brought, where known. */
export interface ChangeSource { origin: string, writes?: readonly string[] }
export type MergeOutcome = { changed: boolean } | { error: Error }
export interface MergeCounts { merges: number, redundantMerges: number }

export interface Folded {
  /** The key's entry the joined delta applies to (a fresh one if the group bound a new key); undefined if nothing changed. */
  entry: Entry | undefined
  joined: Plain | undefined
  /** Origins of the deltas that changed something, in order, with the write ids each brought. */
  origins: ChangeSource[]
}

/**
 * Folds `items` (all for `key`, in call order) as if merged one by one into
 * `head`, writing each item's outcome into `out`. `entryFor` binds or checks
 * the contract (throwing ContractError('contract_mismatch')). A delta whose
 * content is split between the key's state and earlier deltas of the group is
 * reported as changed although merging it alone would change nothing.
 */
export function foldRemote (key: string, head: Entry | undefined, items: readonly RemoteItem[],
  entryFor: (head: Entry | undefined, wanted: RemoteItem['wanted']) => Entry, out: MergeOutcome[], counts: MergeCounts): Folded {
  let entry = head
  let joined: Plain | undefined
  const origins: ChangeSource[] = []
  for (const item of items) {
    try {
      const e = entryFor(entry, item.wanted)
      // A delta of another version of the contract (or of none) is one of a contract this peer lacks.
      checkVersion(key, e.binding, item.wanted.version)
      const c = e.contract
      const d = validated(c, key, item.delta)
      if (c.delta(d, e.summary) === undefined || (joined !== undefined && c.delta(d, c.summarize(joined)) === undefined)) {
        counts.redundantMerges++
        out[item.index] = { changed: false }
        continue
      }
      entry = e // the key is bound once a delta is taken
      joined = joined === undefined ? d : c.merge(joined, d) as Plain
      counts.merges++
      origins.push({ origin: item.origin, writes: item.writes })
      out[item.index] = { changed: true }
    } catch (err) {
      out[item.index] = { error: err instanceof Error ? err : new Error(String(err)) }
    }
  }
  return { entry: joined === undefined ? undefined : entry, joined, origins }
}

/**
 * The delta parsed by the contract, or ContractError('invalid_state'); or ContractError('unknown_contract')
 * when the contract cannot judge it because it holds a state of a contract this peer lacks (an or-map field).
 */
export function validated (c: AnyContract, key: string, delta: unknown): Plain {
  try {
    return c.validate(delta) as Plain
  } catch (err) {
    if (err instanceof ContractError && (err.code === 'invalid_state' || err.code === 'unknown_contract' || err.code === 'unauthorized_write')) throw err
    throw new ContractError('invalid_state', `delta for key ${showKey(key)} is not a valid "${c.id}" state: ${(err as Error)?.message}`, { cause: err })
  }
}

/** A key for error messages: quoted, and cut short if long. */
export function showKey (key: string): string {
  return JSON.stringify(key.length > 80 ? key.slice(0, 77) + '...' : key)
}
