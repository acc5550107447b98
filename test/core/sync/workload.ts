// Random ops over the built-in contracts, for the sync tests: one key space per contract, a few keys each.
import fc from 'fast-check'
import type { Net } from './harness.ts'

export interface Op { peer: number, contract: string, key: number, value: number }

const OP_OF: Record<string, (v: number) => [string, unknown[]]> = {
  'or-set': v => v % 3 === 0 ? ['remove', [`v${v % 4}`]] : ['add', [`v${v % 4}`]],
  'g-set': v => ['add', [`v${v}`]],
  'g-counter': v => ['inc', [1 + (v % 3)]],
  'pn-counter': v => v % 2 === 0 ? ['inc', [v]] : ['dec', [v]],
  'lww-register': v => ['set', [{ v }]],
  'mv-register': v => ['set', [v]],
  log: v => ['append', [`e${v}`]]
}
export const CONTRACTS = Object.keys(OP_OF)

export function opArb (peers: number, keys = 4): fc.Arbitrary<Op> {
  return fc.record({ peer: fc.nat(peers - 1), contract: fc.constantFrom(...CONTRACTS), key: fc.nat(keys - 1), value: fc.nat(20) })
}

/** Runs the op on its peer (its delta goes to the engine for pushing); returns whether it changed anything. */
export async function apply (net: Net, op: Op): Promise<boolean> {
  const [name, args] = OP_OF[op.contract](op.value)
  const delta = await net.write(`p${op.peer}`, `${op.contract}/${op.key}`, op.contract, name, args as never)
  return delta !== undefined
}
