/**
 * The check a gossiped push passes before this peer forwards it: every item
 * whose contract this peer has must be a valid state of it. A push is
 * forwarded to every peer before any of them merges it, so an invalid state
 * caught only at merge time costs each of them its validation and costs the
 * sender nothing; caught here, it is refused at the first hop, and the
 * refusal costs the sender gossip score. Contracts come from the registry
 * alone (no store access: gossipsub validates synchronously). Pushes are at
 * most MAX_GOSSIP_PUSH_BYTES, so validating one is bounded.
 *
 * Only a verdict that cannot depend on which contracts a peer has may cost
 * the sender: an item of a contract this peer lacks (or has in another
 * version), or one holding such a contract inside it (an or-map field), is
 * "cannot judge". Such a push is not forwarded by us (a peer that has the
 * contract and finds it invalid would charge us, the deliverer) but still
 * merged here as far as we can (the rest is counted as an unknown contract).
 */
import type { AnyContract } from '../contract.ts'
import { withVerifyBudget } from '../envelope/validate.ts'
import { RefusedForNow } from '../envelope/refused-for-now.ts'
import { ContractError } from '../errors.ts'
import type { ContractRegistry } from '../registry.ts'
import { validated } from '../remote-merge.ts'
import type { BoundRef } from '../subscription.ts'
import { GenerationalCache } from './generational-cache.ts'
import type { DeltaItem } from './messages.ts'
import { contractName } from './wire.ts'

/** What a push check found: an item every peer must refuse (`invalid`), or one this peer cannot judge (`unjudged`). */
/**
 * Most signatures not verified before one push may cost to check (about 4-15 ms). An honest push holds 1 or 2
 * signed items per owned key it changes (an entry or checkpoint, and the writer's grant); more (a revoke
 * freezing many items, or many owned keys at once) is not refused but "cannot judge": merged here within
 * validate's own cap, not forwarded, and left to sync sessions.
 */
export const PUSH_VERIFY_BUDGET = 64

export interface PushVerdict { invalid?: string, unjudged?: string, /** The key of the invalid item. */ key?: string, /** Set when the invalid item is a change to an owned key no current writer signed. */ reason?: 'unauthorized_write' }

export class PushValidator {
  readonly #registry: ContractRegistry
  /** Contracts by binding (null: not here), configured ones too: a push names few, and withParams need not run per item. */
  readonly #contracts = new GenerationalCache<string, AnyContract | null>(256)

  constructor (registry: ContractRegistry) {
    this.#registry = registry
  }

  /**
   * The verdict on a push: `invalid` (the first item a contract this peer has refuses, whatever other
   * contracts a peer has), else `unjudged` (the first item this peer cannot judge), else neither: valid.
   */
  check (items: readonly DeltaItem[]): PushVerdict {
    return withVerifyBudget(PUSH_VERIFY_BUDGET, () => this.#check(items))
  }

  #check (items: readonly DeltaItem[]): PushVerdict {
    let unjudged: string | undefined
    for (const item of items) {
      const c = this.#contract(item.contract)
      if (c === undefined) { unjudged ??= `contract "${contractName(item.contract)}" is not here`; continue }
      // An owned key's binding names its key: under any other key it is a replay, never an honest push.
      if (c.boundKey !== undefined && c.boundKey !== item.key) return { invalid: `a binding of key ${JSON.stringify(c.boundKey.slice(0, 80))} pushed for another key`, key: item.key }
      try {
        validated(c, item.key, item.delta)
      } catch (err) {
        if (err instanceof ContractError && err.code === 'unknown_contract') { unjudged ??= err.message; continue }
        // Too costly to check at this hop, not proof of a forgery: the sender is not charged.
        if (err instanceof RefusedForNow) { unjudged ??= err.message; continue }
        return { invalid: (err as Error).message, key: item.key, ...(err instanceof ContractError && err.code === 'unauthorized_write' ? { reason: err.code } : {}) }
      }
    }
    return unjudged === undefined ? {} : { unjudged }
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
