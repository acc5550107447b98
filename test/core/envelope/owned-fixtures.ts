// Shared by the owned-key tests: fixed writers, an owned contract around a built-in, and ops signed by replica name.
import { createRegistry } from '../../../contracts/index.ts'
import type { AnyContract, OpContext } from '../../../core/contract.ts'
import { type OwnedContract, type SigningKey, generateSigningKey, ownedBinding, withCheckpointBytes } from '../../../core/envelope/index.ts'
import type { JsonValue } from '../../../core/json.ts'

export const registry = createRegistry()
export const keys: Record<string, SigningKey> = {
  alice: generateSigningKey().key, // the owner
  bob: generateSigningKey().key, // a writer named in the params
  carol: generateSigningKey().key, // granted (and revoked) by ops
  mallory: generateSigningKey().key // never a writer
}
export const T0 = 1_700_000_000_000

/** The owned contract of key `key` around `inner`, written by alice (owner) and bob. */
export function ownedFor (inner: string | { id: string, params?: Record<string, JsonValue> }, key = 'k', writers = [keys.alice.publicKey, keys.bob.publicKey], ckptBytes?: number): OwnedContract {
  const ref = typeof inner === 'string' ? { id: inner } : inner
  const b = ownedBinding(key, ref, writers)
  const c = registry.resolve({ id: b.id, params: b.params }) as OwnedContract
  return ckptBytes === undefined ? c : withCheckpointBytes(c, ckptBytes)
}

/** `c` with every op signed by the key named like the op's replica (alice, bob, carol, mallory), as the law checker names replicas. */
export function signedByReplica (c: AnyContract): AnyContract {
  const ops: Record<string, AnyContract['ops'][string]> = {}
  for (const [name, fn] of Object.entries(c.ops)) ops[name] = (s, args, ctx) => fn(s, args, { ...ctx, signer: keys[ctx.replica] })
  return { ...c, ops }
}

/** Runs op `op` as `who` (a name in `keys`, or undefined: no signer) from the store lane `lane`; the state after it and the delta. */
export function write (c: AnyContract, s: unknown, who: string | undefined, op: string, args: JsonValue[], lane = who ?? 'nobody', now = T0): { state: unknown, delta: unknown } {
  const ctx: OpContext = { replica: lane, now, ...who === undefined ? {} : { signer: keys[who] } }
  const delta = c.ops[op](s, args, ctx)
  return { state: delta === undefined ? s : c.merge(s, delta), delta }
}
