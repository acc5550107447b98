/**
 * The convergence checker, run once the network has been quiet: every key's
 * state is byte-identical on all replicas; every acknowledged op's effect is
 * there (final ⊒ join of the acked deltas); nothing appears that was never
 * written (final ⊑ join of every attempted delta, and no unknown keys).
 * Order is the contract's own: a ⊑ b exactly when merge(a, b) = b, compared
 * as canonical bytes. This covers the issue's examples and more: an acked
 * or-set add is present unless a remove that saw it was also written; a
 * counter's total lies between the acked and the attempted increments.
 * A replica that keeps only some keys (partial replication) is held to those:
 * it must hold each of them as the others do, and must not hold any other.
 */
import { type Plain, encode } from '../core/codec.ts'
import type { AnyContract } from '../core/contract.ts'
import type { ContractRegistry } from '../core/registry.ts'
import type { BoundRef } from '../core/subscription.ts'
import type { SyncStore } from '../core/sync/types.ts'
import type { WriteLog } from './workload.ts'

/** `keeps`: the keys a partial replica keeps; absent, it keeps every key. */
export interface Replica { name: string, store: Pick<SyncStore, 'keys' | 'deltaFor'>, keeps?: (key: string) => boolean }

/** One key's whole state on one replica, canonical (undefined binding: the replica lacks the key). */
export async function stateOf (store: Pick<SyncStore, 'deltaFor'>, key: string, registry: ContractRegistry): Promise<{ binding?: BoundRef, state?: Plain }> {
  const d = await store.deltaFor(key)
  if (d === undefined) return {}
  const c = registry.resolve(d.contract)
  // deltaFor with no summary is everything the replica holds; merging it into empty gives the state in canonical form.
  return { binding: d.contract, state: c.merge(c.empty(), d.delta) as Plain }
}

/** Problems found, each one line; empty when the replicas agree and nothing was lost or invented. */
export async function checkReplicas (replicas: readonly Replica[], registry: ContractRegistry, writes: WriteLog, limit = 20): Promise<string[]> {
  const problems: string[] = []
  const written = new Set(writes.keys())
  const all = new Set(written)
  for (const r of replicas) {
    for (const key of await r.store.keys()) {
      if (!written.has(key) && !all.has(key)) problems.push(`key ${key} is on ${r.name} but was never written`)
      if (r.keeps?.(key) === false) problems.push(`key ${key} is on ${r.name}, outside the keys it keeps`)
      all.add(key)
    }
  }
  // Replicate-all replicas first: the first replica keeping a key is the one the others are compared with.
  const ordered = [...replicas.filter(r => r.keeps === undefined), ...replicas.filter(r => r.keeps !== undefined)]
  for (const key of [...all].sort()) {
    if (problems.length >= limit) { problems.push('… (more problems not listed)'); break }
    const keepers = ordered.filter(r => r.keeps?.(key) ?? true)
    if (keepers.length === 0) continue
    const states = await Promise.all(keepers.map(async r => ({ name: r.name, ...await stateOf(r.store, key, registry) })))
    const history = writes.get(key)
    const bound = states.find(s => s.binding !== undefined)?.binding
    const contract = registry.resolve(bound ?? history!.ref)
    const bytesOf = (s: { state?: Plain }): string => Buffer.from(encode(s.state ?? contract.empty())).toString('hex')
    const reference = bytesOf(states[0])
    const differing = states.filter(s => bytesOf(s) !== reference || JSON.stringify(s.binding ?? bound) !== JSON.stringify(bound))
    if (differing.length > 0) {
      // Equal summaries over different states break the contract's promise, and no summary-driven sync can repair that.
      const summaryOf = (x: { state?: Plain }): string => Buffer.from(encode(contract.summarize(x.state ?? contract.empty()))).toString('hex')
      const blind = differing.some(s => summaryOf(s) === summaryOf(states[0])) ? ' (with EQUAL summaries: the contract\'s summary does not tell these states apart)' : ''
      problems.push(`key ${key} differs${blind}: ${states[0].name} has ${show(states[0].state)}, ${differing.map(s => `${s.name} has ${show(s.state)}`).slice(0, 3).join(', ')}`)
      continue
    }
    if (history === undefined) continue
    const final = (states[0].state ?? contract.empty()) as Plain
    const acked = join(contract, history.acked)
    const attempted = join(contract, history.attempted)
    if (!below(contract, acked, final)) problems.push(`key ${key} lost acknowledged writes: it holds ${show(final)}, acked ops join to ${show(acked)}`)
    if (!below(contract, final, attempted)) problems.push(`key ${key} holds something never written: ${show(final)}, every op written joins to ${show(attempted)}`)
  }
  return problems
}

function join (c: AnyContract, deltas: readonly Plain[]): Plain {
  let s = c.empty() as Plain
  for (const d of deltas) s = c.merge(s, d) as Plain
  return s
}

/** a ⊑ b in the contract's order. */
function below (c: AnyContract, a: Plain, b: Plain): boolean {
  return Buffer.compare(encode(c.merge(a, b)), encode(b)) === 0
}

function show (x: unknown): string {
  if (x === undefined) return '(nothing)'
  const text = JSON.stringify(x, (_k, v: unknown) => (v instanceof Uint8Array ? `<${v.length} bytes>` : v))
  return text.length > 200 ? text.slice(0, 200) + '…' : text
}
