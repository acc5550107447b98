/**
 * The check a gossiped push passes before this peer forwards it: every item
 * whose contract this peer has must be a valid state of it. A push is
 * forwarded to every peer before any of them merges it, so an invalid state
 * caught only at merge time costs each of them its validation and costs the
 * sender nothing; caught here, it is refused at the first hop, and the
 * refusal costs the sender gossip score. Contracts come from the registry
 * alone (no store access: gossipsub validates synchronously). Items of a
 * contract this peer lacks, or has in another version, are not judged: the
 * peers that have it judge them. Pushes are at most MAX_GOSSIP_PUSH_BYTES, so
 * validating one is bounded.
 */
import type { AnyContract } from '../contract.ts'
import type { ContractRegistry } from '../registry.ts'
import { validated } from '../remote-merge.ts'
import type { BoundRef } from '../subscription.ts'
import { GenerationalCache } from './generational-cache.ts'
import type { DeltaItem } from './messages.ts'
import { contractName } from './wire.ts'

export class PushValidator {
  readonly #registry: ContractRegistry
  /** Contracts by binding (null: not here), configured ones too: a push names few, and withParams need not run per item. */
  readonly #contracts = new GenerationalCache<string, AnyContract | null>(256)

  constructor (registry: ContractRegistry) {
    this.#registry = registry
  }

  /** Why the push must not be forwarded (the first invalid item), or undefined. */
  problem (items: readonly DeltaItem[]): string | undefined {
    for (const item of items) {
      const c = this.#contract(item.contract)
      if (c === undefined) continue
      try {
        validated(c, item.key, item.delta)
      } catch (err) {
        return (err as Error).message
      }
    }
    return undefined
  }

  #contract (ref: BoundRef): AnyContract | undefined {
    const k = ref.params === undefined ? contractName(ref) : contractName(ref) + ' ' + JSON.stringify(ref.params)
    let c = this.#contracts.get(k)
    if (c === undefined) {
      try {
        c = this.#registry.resolveBound(ref)
      } catch {
        c = null // unknown here, another version, or params it refuses: the merge counts those
      }
      this.#contracts.set(k, c)
    }
    return c ?? undefined
  }
}
