/**
 * Forged changes to an owned key, as a hostile peer that knows the key's binding (its params are public) and
 * overheard one genuine signed change of a writer would make them. Each is built through the envelope's own
 * code (its ops under a config that wrongly trusts the hostile key, its merge, its signed-bytes layout) and
 * then altered, so the forgeries keep their shape as the envelope changes. Every one must be refused by every
 * honest peer as `unauthorized_write`. Modes (each a list of forged states, one message each):
 * - `owned-nonwriter`: the hostile key's own change under the real binding; the same under a real writer's id;
 * - `owned-replay-altered`: the genuine change with its content, its number or its lane altered, signature kept;
 * - `owned-claim-owner`: a grant of the hostile key signed by itself, with its change; a revoke of a real writer;
 * - `owned-mixed`: the genuine change merged with each of the forged parts above.
 */
import { type Plain, decode, encode } from '../../core/codec.ts'
import type { AnyContract } from '../../core/contract.ts'
import { type SigningKey, formatPublicKey, generateSigningKey, laneOf, parsePublicKey, writerReplica } from '../../core/envelope/index.ts'
import { opsOf } from '../../core/envelope/owned-ops.ts'
import { type OwnedConfig, parseOwnedParams } from '../../core/envelope/owned-params.ts'
import { type Block, type OwnedState, WID_BYTES, hex } from '../../core/envelope/state.ts'
import type { JsonValue } from '../../core/json.ts'
import type { BoundRef } from '../../core/subscription.ts'
import { type DeltaItem, encodeMessage } from '../../core/sync/messages.ts'
import { PUSH_TOPIC } from '../../core/sync/types.ts'
import { frameOf, nextSid, registerForger, registerStreamForger } from './hostile-messages.ts'
import { createRegistry } from '../../contracts/index.ts'

/** What the hostile peer knows: the key, its binding, a genuine change of a writer, and an inner op and its args to forge with. */
export interface OwnedTarget { key: string, binding: BoundRef, genuine: OwnedState, op: string, args: JsonValue[] }

export const OWNED_MODES = ['owned-nonwriter', 'owned-replay-altered', 'owned-claim-owner', 'owned-mixed'] as const
export type OwnedMode = typeof OWNED_MODES[number]

/** The target as one env-safe string (the genuine change is bytes: canonical CBOR, base64url). */
export function targetToString (t: OwnedTarget): string {
  return JSON.stringify({ ...t, genuine: Buffer.from(encode(t.genuine)).toString('base64url') })
}

export function targetFromString (s: string): OwnedTarget {
  const t = JSON.parse(s) as OwnedTarget & { genuine: string }
  return { ...t, genuine: decode(new Uint8Array(Buffer.from(t.genuine, 'base64url'))) as unknown as OwnedState }
}

const forgeCtx = (signer: SigningKey, replica: string): { replica: string, now: number, signer: SigningKey } => ({ replica, now: Date.now(), signer })

/** The forged states of every mode, signed by `hostile` (the hostile peer's own key). */
export function ownedForgeries (t: OwnedTarget, hostile: SigningKey): Record<OwnedMode, OwnedState[]> {
  const registry = createRegistry()
  const real = registry.resolveBound(t.binding) as AnyContract
  const cfg = parseOwnedParams(t.binding.params!, ref => registry.resolve(ref))
  const hpub = parsePublicKey(hostile.publicKey)
  const hwid = hpub.slice(0, WID_BYTES)
  const replica = 'hostile-' + hex(hwid)

  // The envelope's ops under a config that lists the hostile key as a writer: signatures over the real params hash.
  const asWriter: OwnedConfig = { ...cfg, writers: [...cfg.writers, hpub], paramsWids: new Map([...cfg.paramsWids, [hex(hwid), hpub]]) }
  const own = opsOf(asWriter)[t.op](real.empty(), t.args, forgeCtx(hostile, replica)) as OwnedState
  // The same block under a real writer's id (the first non-owner, else the owner): dots under another's replica.
  const victim = (cfg.writers[1] ?? cfg.owner).slice(0, WID_BYTES)
  const underVictim: OwnedState = { a: own.a, w: own.w.map((b): Block => [victim, b[1], b[2], b[3], b[4]]) }

  // The genuine change, altered, its writer's signature kept.
  const g = t.genuine.w[0]
  const gpub = [...cfg.paramsWids.values()].find(p => hex(p.subarray(0, WID_BYTES)) === hex(g[0]))
  if (gpub === undefined) throw new Error('the genuine change is not a block of a writer named in the params')
  const gReplica = writerReplica(gpub, g[2], g[1])
  const body = cfg.inner.ops[t.op](cfg.inner.empty(), t.args, { replica: gReplica, now: Date.now() }) as Plain
  const withItems = (lane: Uint8Array, items: Block[4]): OwnedState => ({ a: t.genuine.a, w: [[g[0], g[1], lane, [], items]] })
  const [n, , sig] = g[4][0]
  const alteredContent = withItems(g[2], [[n, body, sig]])
  const alteredNumber = withItems(g[2], [[n + 1, g[4][0][1], sig]])
  const otherLane = laneOf(replica)
  const alteredLane = withItems(otherLane, [[n, g[4][0][1], sig]])

  // The hostile key as owner: the envelope's @writers op under a config naming it owner, over the real params hash.
  const asOwner: OwnedConfig = { ...cfg, owner: hpub }
  const ownerOps = opsOf(asOwner)
  const grant = ownerOps['@writers'](real.empty(), [{ grant: [hostile.publicKey] }], forgeCtx(hostile, replica)) as OwnedState
  // A granted writer's change carries its grant (owned-ops.ts), so this is the self-signed grant and a change under it.
  const claimGrant = ownerOps[t.op](grant, t.args, forgeCtx(hostile, replica)) as OwnedState
  if (claimGrant.a.length !== 1) throw new Error('the forged change does not carry its grant')
  const revoke = ownerOps['@writers'](real.empty(), [{ revoke: [formatPublicKey(cfg.writers[1] ?? cfg.writers[0])] }], forgeCtx(hostile, replica)) as OwnedState

  const mixed = (forged: OwnedState): OwnedState => real.merge(t.genuine, forged) as OwnedState
  return {
    'owned-nonwriter': [own, underVictim],
    'owned-replay-altered': [alteredContent, alteredNumber, alteredLane],
    'owned-claim-owner': [claimGrant, revoke],
    'owned-mixed': [mixed(own), mixed(claimGrant), mixed(alteredContent)]
  }
}

const itemOf = (t: OwnedTarget, state: OwnedState): DeltaItem => ({ key: t.key, contract: t.binding, delta: state as unknown as DeltaItem['delta'] })

/**
 * Registers the modes with the hostile peer (hostile-messages.ts), signed by a new key of its own: each gossip
 * mode sends its i-th forged state (cycling) as a push; `owned-deltas` writes every forged state of every mode
 * over a sync stream, each as a session `deltas` under a fresh session id. Returns the hostile public key.
 */
export function registerOwnedForgers (t: OwnedTarget, hostile: SigningKey = generateSigningKey().key): string {
  const forged = ownedForgeries(t, hostile)
  for (const mode of OWNED_MODES) {
    registerForger(mode, (_keys, i) => [{ topic: PUSH_TOPIC, bytes: encodeMessage({ type: 'push', items: [itemOf(t, forged[mode][i % forged[mode].length])] }) }])
  }
  registerStreamForger('owned-deltas', () => ({
    frames: OWNED_MODES.flatMap(m => forged[m]).map(s => frameOf(encodeMessage({ type: 'deltas', sid: nextSid(), seq: 0, check: false, items: [itemOf(t, s)] }))),
    // Each is a bad frame: an honest peer never sends a change no writer signed (core/sync/merger.ts charges it).
    bad: true
  }))
  return hostile.publicKey
}
