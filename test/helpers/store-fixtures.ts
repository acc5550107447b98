// Shared set-up for replica store tests: a registry of small contracts and temp data folders.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ContractRegistry } from '../../core/registry.ts'
import { orSet } from '../../contracts/or-set.ts'
import { pnCounter } from '../../contracts/pn-counter.ts'
import { cappedMax } from '../fixtures/capped-max.ts'
import { maxRegister } from '../fixtures/max-register.ts'

/** The built-ins' laws are checked in their own tests; here they only need to be present. */
export function testRegistry (): ContractRegistry {
  const registry = new ContractRegistry()
  for (const c of [maxRegister, cappedMax, pnCounter, orSet]) registry.register(c, { trusted: true })
  return registry
}

/** A temp root folder; each call of `next()` names a fresh folder in it; `remove()` deletes it all. */
export async function tempFolders (name: string): Promise<{ next: () => string, remove: () => Promise<void> }> {
  const root = await mkdtemp(join(tmpdir(), `monoidb-${name}-`))
  let n = 0
  return { next: () => join(root, `db${n++}`), remove: async () => { await rm(root, { recursive: true, force: true }) } }
}
