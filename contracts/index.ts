// The built-in merge contracts, and a registry that holds them.
import { createOwned } from '../core/envelope/index.ts'
import { ContractRegistry } from '../core/registry.ts'
import { gCounter } from './g-counter.ts'
import { gSet } from './g-set.ts'
import { log } from './log.ts'
import { lwwRegister } from './lww-register.ts'
import { mvRegister } from './mv-register.ts'
import { createOrMap } from './or-map.ts'
import { orSet } from './or-set.ts'
import { pnCounter } from './pn-counter.ts'

export { gCounter, gSet, log, lwwRegister, mvRegister, createOrMap, orSet, pnCounter }
export { createLwwRegister } from './lww-register.ts'

/**
 * A registry holding every built-in contract. They are registered as trusted:
 * CI checks each one's laws with 1,000 runs per law (test/contracts/), so a
 * daemon does not pay for it at every start. Contracts you add are checked.
 */
export function createRegistry (): ContractRegistry {
  const registry = new ContractRegistry()
  for (const c of [gCounter, pnCounter, lwwRegister, mvRegister, gSet, orSet, log]) registry.register(c, { trusted: true })
  // or-map fields may hold any contract this registry knows, including ones registered later.
  registry.register(createOrMap(id => registry.get(id)), { trusted: true })
  // Owned keys wrap any contract this registry knows (core/envelope/); their laws are checked in test/core/envelope/.
  registry.register(createOwned(ref => registry.resolve(ref)), { trusted: true })
  return registry
}
