/**
 * The ops of an owned key. Every inner op X runs on the fold of the key's state with the writer's own replica
 * id (owned-params.ts writerReplica: derived from its public key and this store's lane), and its delta is
 * signed as the next entry of the writer's block, or, when the block's entries would outweigh its fold (or
 * pass MAX_ENTRIES_AHEAD), as a checkpoint: the writer's signed fold of its block, which replaces them. So a
 * key's state stays within about twice its writers' folded contributions. `@writers` grants or revokes
 * writers: the owner's alone.
 */
import { type Plain, encode } from '../codec.ts'
import type { Op, OpContext } from '../contract.ts'
import { ContractError } from '../errors.ts'
import type { JsonValue } from '../json.ts'
import { isPlainObject, short } from '../json.ts'
import { type OwnedConfig, laneOf, writerReplica } from './owned-params.ts'
import { foldOf } from './fold.ts'
import { KIND_CKPT, KIND_ENTRY, grantBytes, itemBytes, revokeBytes } from './signed-bytes.ts'
import { parsePublicKey } from './signing.ts'
import { type Access, type Block, type Bytes, type Frozen, type Item, type OwnedState, WID_BYTES, ckptN, cmpAccess, cmpBytes, hex, isRevoke, writerGen } from './state.ts'
import { MAX_ENTRIES_AHEAD, checkReplicas } from './validate.ts'

const MAX_WRITERS_PER_CALL = 16

const unauthorized = (why: string): never => { throw new ContractError('unauthorized_write', why) }

function signerOf (ctx: OpContext): { pub: Bytes, sign: (b: Uint8Array) => Uint8Array } {
  const signer = ctx.signer
  if (signer === undefined) return unauthorized('this key is owned: a write needs a signing key (start the daemon with --signing-key)')
  return { pub: parsePublicKey(signer.publicKey), sign: b => signer.sign(b) }
}

/** The gen under which `pub` may write now (the greatest granted and not revoked), or undefined. */
export function currentGen (cfg: OwnedConfig, s: OwnedState, pub: Bytes): number | undefined {
  let gen: number | undefined
  const revoked = new Set<number>()
  for (const r of s.a) {
    if (cmpBytes(r[0], pub) !== 0) continue
    if (isRevoke(r)) revoked.add(r[1]); else gen = Math.max(gen ?? 0, r[1])
  }
  if (gen === undefined && !revoked.has(0) && cfg.writers.some(w => cmpBytes(w, pub) === 0)) gen = 0
  return gen
}

function grantOf (s: OwnedState, pub: Bytes, gen: number): Access | undefined {
  return s.a.find(r => !isRevoke(r) && r[1] === gen && cmpBytes(r[0], pub) === 0)
}

function blockFold (cfg: OwnedConfig, b: Block | undefined): Plain {
  let f = cfg.inner.empty() as Plain
  if (b !== undefined) for (const item of [...b[3], ...b[4]]) f = cfg.inner.merge(f, item[1]) as Plain
  return f
}

function writerOp (cfg: OwnedConfig, name: string): Op<OwnedState> {
  const inner = cfg.inner.ops[name]
  return (s, args, ctx) => {
    const { pub, sign } = signerOf(ctx)
    const gen = currentGen(cfg, s, pub)
    if (gen === undefined) unauthorized(`${ctx.signer?.publicKey ?? 'this signing key'} is not a writer of key ${JSON.stringify(cfg.key)}`)
    const g = gen as number
    const lane = laneOf(ctx.replica)
    const replica = writerReplica(pub, lane, g)
    const d = inner(foldOf(cfg, s), args, { replica, now: ctx.now }) as Plain | undefined
    if (d === undefined) return undefined
    checkReplicas(cfg.inner, d, replica, `the delta of op "${name}"`)
    const wid = pub.slice(0, WID_BYTES)
    const old = s.w.find(b => cmpBytes(b[0], wid) === 0 && b[1] === g && cmpBytes(b[2], lane) === 0)
    const top = old === undefined ? 0 : ckptN(old[3])
    const last = old === undefined || old[4].length === 0 ? top : Math.max(top, old[4][old[4].length - 1][0])
    const n = last + 1
    const entry: Item = [n, d, sign(itemBytes(cfg.ph, KIND_ENTRY, wid, g, lane, n, d))]
    let blk: Block = [wid, g, lane, [], [entry]]
    const heavy = (): boolean => {
      const entries = (old?.[4] ?? []).reduce((sum, e) => sum + encode(e).length, encode(entry).length)
      return entries > Math.max(cfg.ckptMinBytes, encode(blockFold(cfg, old)).length)
    }
    if (n - top > MAX_ENTRIES_AHEAD || heavy()) {
      const st = cfg.inner.merge(blockFold(cfg, old), d) as Plain
      blk = [wid, g, lane, [[n, st, sign(itemBytes(cfg.ph, KIND_CKPT, wid, g, lane, n, st))]], []]
    }
    // Self-contained: a granted writer's change carries its grant, so every peer can verify it alone.
    const grant = g === 0 && cfg.writers.some(w => cmpBytes(w, pub) === 0) ? undefined : grantOf(s, pub, g)
    return { a: grant === undefined ? [] : [grant], w: [blk] }
  }
}

function writersArg (args: readonly JsonValue[]): { grant: Bytes[] } | { revoke: Bytes[] } {
  const usage = 'op "@writers" takes one argument, {"grant": [PUBKEY, ...]} or {"revoke": [PUBKEY, ...]}'
  if (args.length !== 1 || !isPlainObject(args[0]) || Object.keys(args[0]).length !== 1) throw new ContractError('bad_args', `${usage}, got ${short(args)}`)
  const [kind, list] = Object.entries(args[0])[0]
  if ((kind !== 'grant' && kind !== 'revoke') || !Array.isArray(list) || list.length === 0 || list.length > MAX_WRITERS_PER_CALL) {
    throw new ContractError('bad_args', `${usage} (1 to ${MAX_WRITERS_PER_CALL} keys), got ${short(args)}`)
  }
  const pubs = list.map(k => parsePublicKey(k as string))
  return kind === 'grant' ? { grant: pubs } : { revoke: pubs }
}

function writersOp (cfg: OwnedConfig): Op<OwnedState> {
  return (s, args, ctx) => {
    const what = writersArg(args)
    const { pub, sign } = signerOf(ctx)
    if (cmpBytes(pub, cfg.owner) !== 0) unauthorized(`only the owner of key ${JSON.stringify(cfg.key)} changes its writers`)
    const records: Access[] = []
    if ('grant' in what) {
      for (const w of what.grant) {
        if (currentGen(cfg, s, w) !== undefined || records.some(r => cmpBytes(r[0], w) === 0)) continue
        let gen = -1
        for (const r of s.a) if (cmpBytes(r[0], w) === 0) gen = Math.max(gen, r[1])
        if (gen < 0 && cfg.writers.some(x => cmpBytes(x, w) === 0)) gen = 0 // a params writer revoked at gen 0
        gen++
        records.push([w, gen, sign(grantBytes(cfg.ph, w, gen))])
      }
    } else {
      for (const w of what.revoke) {
        if (cmpBytes(w, cfg.owner) === 0) throw new ContractError('bad_args', 'the owner cannot be revoked')
        const gen = currentGen(cfg, s, w)
        if (gen === undefined || records.some(r => cmpBytes(r[0], w) === 0)) continue
        const wg = writerGen(w, gen)
        // What the owner has seen of the writer stands for it; whatever else it wrote under this gen is left out everywhere.
        const frozen: Frozen = s.w.filter(b => writerGen(b[0], b[1]) === wg).map(b => [b[2], blockFold(cfg, b)])
        records.push([w, gen, frozen, sign(revokeBytes(cfg.ph, w, gen, frozen))])
      }
    }
    if (records.length === 0) return undefined
    return { a: records.sort(cmpAccess), w: [] }
  }
}

export function opsOf (cfg: OwnedConfig): Record<string, Op<OwnedState>> {
  const ops: Record<string, Op<OwnedState>> = {}
  for (const name of Object.keys(cfg.inner.ops)) ops[name] = writerOp(cfg, name)
  ops['@writers'] = writersOp(cfg)
  return ops
}

export { hex }
