/**
 * The ops of an owned key. Every inner op X runs on the fold of the key's state with the writer's own replica
 * id (owned-params.ts writerReplica: derived from its public key, this store's lane and its gen), and its
 * delta is signed as the next entry n of the writer's block. Then, like a base-`fanout` counter, the last
 * `fanout` items of the block, when they are contiguous and of one length, are replaced by one checkpoint
 * covering them (the writer's signed join of them), again at the next length up: a block holds at most
 * (fanout − 1) items per length (1, fanout, fanout², ...), and a write is pushed again once per length, inside
 * a checkpoint. `@writers` grants or revokes writers: the owner's alone.
 */
import type { Plain } from '../codec.ts'
import type { Op, OpContext } from '../contract.ts'
import { ContractError } from '../errors.ts'
import type { JsonValue } from '../json.ts'
import { isPlainObject, short } from '../json.ts'
import { MAX_LANES, MAX_WRITERS, type OwnedConfig, laneOf, writerReplica } from './owned-params.ts'
import { laneCount } from './lanes.ts'
import { foldOf } from './fold.ts'
import { ckptBytes, entryBytes, grantBytes, revokeBytes } from './signed-bytes.ts'
import { parsePublicKey } from './signing.ts'
import { type Access, type Block, type Bytes, type Ckpt, type Frozen, type Item, type OwnedState, WID_BYTES, cmpAccess, cmpBytes, hex, isRevoke, writerGen } from './state.ts'
import { checkReplicas } from './validate.ts'

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

/** A block's items as intervals, by lo: [lo, hi, body]. */
function spans (b: Block | undefined): Array<[lo: number, hi: number, body: Plain]> {
  if (b === undefined) return []
  const out: Array<[number, number, Plain]> = [...b[3].map((k): [number, number, Plain] => [k[0], k[1], k[2]]), ...b[4].map((e): [number, number, Plain] => [e[0], e[0], e[1]])]
  return out.sort((x, y) => x[0] - y[0] || y[1] - x[1])
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
    const d = inner(foldOf(cfg, s), args, { replica, now: ctx.now, ownEvents: true }) as Plain | undefined
    if (d === undefined) return undefined
    checkReplicas(cfg.inner, d, replica, `the delta of op "${name}"`)
    const wid = pub.slice(0, WID_BYTES)
    const old = s.w.find(b => cmpBytes(b[0], wid) === 0 && b[1] === g && cmpBytes(b[2], lane) === 0)
    // A lane past the cap could be dropped by a merge (lanes.ts): refuse the write rather than acknowledge it.
    if (old === undefined && laneCount(s, writerGen(wid, g)) >= MAX_LANES) {
      throw new ContractError('bad_args', `${ctx.signer?.publicKey ?? 'this writer'} already writes key ${JSON.stringify(cfg.key)} from ${MAX_LANES} stores (lanes), the most a writer may: write from one of those stores`)
    }
    const items = spans(old)
    const n = items.reduce((m, x) => Math.max(m, x[1]), 0) + 1
    items.push([n, n, d])
    // Base-`fanout` carries: the last `fanout` items, contiguous and of one length, become one checkpoint.
    let carried = false
    const k = cfg.fanout
    while (items.length >= k) {
      const last = items.slice(-k)
      const len = last[0][1] - last[0][0]
      if (!last.every((x, i) => x[1] - x[0] === len && (i === 0 || x[0] === last[i - 1][1] + 1))) break
      const st = last.reduce((f: Plain, x) => cfg.inner.merge(f, x[2]) as Plain, cfg.inner.empty() as Plain)
      items.splice(-k, k, [last[0][0], n, st])
      carried = true
    }
    const [lo, , st] = items[items.length - 1]
    const top: Ckpt | undefined = carried ? [lo, n, st, sign(ckptBytes(cfg.ph, wid, g, lane, lo, n, st))] : undefined
    const entry = (): Item => [n, d, sign(entryBytes(cfg.ph, wid, g, lane, n, d))]
    const blk: Block = top === undefined ? [wid, g, lane, [], [entry()]] : [wid, g, lane, [top], []]
    // Self-contained: a granted writer's change carries its grant, so every peer can verify it alone.
    const grant = g === 0 && cfg.writers.some(w => cmpBytes(w, pub) === 0) ? undefined : grantOf(s, pub, g)
    return { a: grant === undefined ? [] : [grant], w: [blk] }
  }
}

/** What a revoke freezes of the writer: every block the owner holds of it ("all"), or nothing ("none": its writes under that gen are dropped everywhere). */
export type Freeze = 'all' | 'none'

function writersArg (args: readonly JsonValue[]): { grant: Bytes[] } | { revoke: Bytes[], freeze: Freeze } {
  const usage = 'op "@writers" takes one argument, {"grant": [PUBKEY, ...]} or {"revoke": [PUBKEY, ...], "freeze"?: "all" | "none"}'
  if (args.length !== 1 || !isPlainObject(args[0])) throw new ContractError('bad_args', `${usage}, got ${short(args)}`)
  const { freeze = 'all', ...rest } = args[0]
  if (Object.keys(rest).length !== 1) throw new ContractError('bad_args', `${usage}, got ${short(args)}`)
  const [kind, list] = Object.entries(rest)[0]
  if ((kind !== 'grant' && kind !== 'revoke') || !Array.isArray(list) || list.length === 0 || list.length > MAX_WRITERS_PER_CALL) {
    throw new ContractError('bad_args', `${usage} (1 to ${MAX_WRITERS_PER_CALL} keys), got ${short(args)}`)
  }
  if ((freeze !== 'all' && freeze !== 'none') || (kind === 'grant' && 'freeze' in args[0])) throw new ContractError('bad_args', `${usage}: "freeze" goes with "revoke" and is "all" or "none", got ${short(args)}`)
  const pubs = list.map(k => parsePublicKey(k as string))
  return kind === 'grant' ? { grant: pubs } : { revoke: pubs, freeze }
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
        gen++
        records.push([w, gen, sign(grantBytes(cfg.ph, w, gen))])
      }
      // Writers bound the state (their blocks): at most MAX_WRITERS at a time, as in the params.
      const current = new Set<string>()
      for (const w of cfg.writers) if (currentGen(cfg, s, w) !== undefined) current.add(hex(w))
      for (const r of s.a) if (!isRevoke(r)) current.add(hex(r[0]))
      if (current.size + records.length > MAX_WRITERS) throw new ContractError('bad_args', `key ${JSON.stringify(cfg.key)} has ${current.size} writers: granting ${records.length} more would pass ${MAX_WRITERS}; revoke some first`)
    } else {
      for (const w of what.revoke) {
        if (cmpBytes(w, cfg.owner) === 0) throw new ContractError('bad_args', 'the owner cannot be revoked')
        const gen = currentGen(cfg, s, w)
        if (gen === undefined || records.some(r => cmpBytes(r[0], w) === 0)) continue
        const wg = writerGen(w, gen)
        // What the owner has seen of the writer (its signed items) stands for it; whatever else it wrote under this gen is left out everywhere.
        // "none" drops them too: how an owner rids a key of a hostile writer's junk.
        const frozen: Frozen = what.freeze === 'none' ? [] : s.w.filter(b => writerGen(b[0], b[1]) === wg).map(b => [b[2], b[3], b[4]])
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

