/**
 * How a node shows owned keys to apps (README "Owned keys"): apps never see the
 * envelope. An owned key's `contract` is the inner contract named when it was
 * created; its `owner` and `writers` (from the same state as the value, set by
 * the store) sit beside it. Any other key is shown as it is.
 */
import { ownedInfo } from '../core/envelope/index.ts'
import type { BoundRef } from '../core/subscription.ts'

/** `v` with an owned binding replaced by its inner contract's ref. */
export function appView<T extends { contract: BoundRef }> (v: T): T {
  const info = ownedInfo(v.contract)
  return info === undefined ? v : { ...v, contract: info.inner }
}
