/**
 * What the hostile peer (test/helpers/hostile-peer.ts) sends, per mode: gossip
 * messages to publish and stream frames to write. Every message that should
 * decode is built with core/sync/messages.ts's encoder, so it carries this
 * build's PROTOCOL_VERSION (never a hard-coded version byte).
 *
 * Hook: `FORGERS` maps a mode name to a builder of forged gossip messages.
 * Another kind of forgery (e.g. changes to owned keys signed by the wrong
 * writer) is one more entry there: `registerForger('owned', keys => …)`.
 */
import { randomBytes } from 'node:crypto'
import { compareCanonical } from '../../core/codec.ts'
import { type DeltaItem, MAX_GOSSIP_PUSH_BYTES, MAX_MESSAGE_BYTES, MAX_WIRE_BYTES, encodeMessage } from '../../core/sync/messages.ts'
import { DIGEST_TOPIC, PUSH_TOPIC, WANT_TOPIC, WRITES_TOPIC } from '../../core/sync/types.ts'

export const SYNC_GOSSIP_TOPICS = [PUSH_TOPIC, DIGEST_TOPIC, WANT_TOPIC, WRITES_TOPIC] as const

/** A gossip message to publish. */
export interface Gossip { topic: string, bytes: Uint8Array }
/** A stream frame: `prefix` (the length prefix as sent: possibly a lie) then `body`; `end` closes the stream after it. */
export interface Frame { prefix: Uint8Array, body: Uint8Array, end?: boolean }

/** Shortest unsigned LEB128 of n (the sync stream's length prefix). */
export function varint (n: number): Uint8Array {
  const out: number[] = []
  do {
    let b = n % 128
    n = Math.floor(n / 128)
    if (n > 0) b |= 0x80
    out.push(b)
  } while (n > 0)
  return Uint8Array.from(out)
}

export const frameOf = (body: Uint8Array): Frame => ({ prefix: varint(body.length), body })

let sessionNumber = 200 + Math.floor(Math.random() * 10_000)
export const nextSid = (): { n: number, fromInitiator: true } => ({ n: sessionNumber++, fromInitiator: true })

/** Random bytes that are no message: the first is 0xff, a CBOR "break" where a value must start. */
export function garbage (min = 1, max = 200): Uint8Array {
  const b = randomBytes(min + Math.floor(Math.random() * (max - min + 1)))
  b[0] = 0xff
  return b
}

/**
 * g-counter states every peer's contract refuses, each decoding fine: a count of 0, a negative count,
 * a fractional count, replicas out of order (which a careless merge would count twice).
 */
export const INVALID_COUNTERS: readonly unknown[] = [[['hostile', 0]], [['hostile', -1_000_000]], [['hostile', 1.5]], [['hostile-b', 7], ['hostile-a', 7]]]

/**
 * A g-set state of `n` entries, each valid on its own, whose context lacks the dot of one of them (the
 * n-th), so validate refuses it only after reading and ordering them. Values are small objects: ordering
 * them takes their canonical encodings (no fast path), as costly as a state of its size gets.
 */
export function costlyInvalidSet (n: number): unknown {
  const e: Array<[unknown, [string, number]]> = []
  for (let i = 1; i <= n; i++) e.push([{ v: i }, ['hostile', i]])
  e.sort((a, b) => compareCanonical(a[0], b[0]) || a[1][1] - b[1][1])
  return { e, c: [['hostile', [1, n - 1]]] }
}

/** The largest g-set state of costlyInvalidSet's shape whose push is at most `bytes`. */
export function costlyPush (bytes: number, key = 'hostile/heavy'): Uint8Array {
  let lo = 1; let hi = bytes
  const push = (n: number): Uint8Array => encodeMessage({ type: 'push', items: [{ key, contract: { id: 'g-set' }, delta: costlyInvalidSet(n) as DeltaItem['delta'] }] })
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2)
    if (push(mid).length <= bytes) lo = mid; else hi = mid - 1
  }
  return push(lo)
}

/** The same state in a session's `deltas` message (over a stream, up to MAX_MESSAGE_BYTES). */
export function costlyDeltas (bytes: number, key = 'hostile/heavy'): Uint8Array {
  let lo = 1; let hi = bytes
  const msg = (n: number): Uint8Array => encodeMessage({ type: 'deltas', sid: nextSid(), seq: 0, check: false, items: [{ key, contract: { id: 'g-set' }, delta: costlyInvalidSet(n) as DeltaItem['delta'] }] })
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2)
    if (msg(mid).length <= bytes) lo = mid; else hi = mid - 1
  }
  return msg(lo)
}

/** `i`: the message's number in its flood (to vary what is sent). */
/**
 * The same `deltas` message under the next session id: its sid (a uint after `[version, 5,`) is rewritten
 * in place, keeping its length (costlyDeltas encodes sids of 2 bytes, 0x19 + 16 bits).
 */
function freshSid (msg: Uint8Array): Uint8Array {
  const out = Uint8Array.from(msg)
  let at = 1
  while (at < out.length && out[at] !== 0x05) at++ // the type, after the version
  if (out[at + 1] === 0x19) {
    const n = (sessionNumber++ % 30_000) + 300
    out[at + 2] = (2 * n + 1) >> 8
    out[at + 3] = (2 * n + 1) & 0xff
  }
  return out
}

export type Forger = (keys: readonly string[], i: number) => Gossip[]

/** Gossip messages that look like data and are forged: each must be refused by every honest peer. */
export const FORGERS: Record<string, Forger> = {
  /** A push of states every contract refuses, for keys honest peers hold. */
  forged: (keys, i) => (keys.length > 0 ? keys : ['hostile/forged']).map(key => ({
    topic: PUSH_TOPIC,
    bytes: encodeMessage({ type: 'push', items: [{ key, contract: { id: 'g-counter' }, delta: INVALID_COUNTERS[i % INVALID_COUNTERS.length] as DeltaItem['delta'] }] })
  })),
  /** A well-formed message on a topic of another type (a digest where pushes go). */
  'wrong-topic': () => [{ topic: PUSH_TOPIC, bytes: encodeMessage({ type: 'digest', fp: randomBytes(16) }) }]
}

/** Adds a kind of forgery (a mode of the hostile peer): e.g. owned-key changes signed by a non-writer. */
export function registerForger (mode: string, forger: Forger): void {
  FORGERS[mode] = forger
}

/** Gossip to publish, per mode (none: not a gossip mode). */
export function gossipFor (mode: string, keys: readonly string[], i: number): Gossip[] | undefined {
  const forger = FORGERS[mode]
  if (forger !== undefined) return forger(keys, i)
  switch (mode) {
    case 'garbage': return [{ topic: SYNC_GOSSIP_TOPICS[i % SYNC_GOSSIP_TOPICS.length], bytes: garbage() }]
    case 'gossip-digests': return [{ topic: DIGEST_TOPIC, bytes: encodeMessage({ type: 'digest', fp: randomBytes(16) }) }]
    case 'wants': return [{ topic: WANT_TOPIC, bytes: encodeMessage({ type: 'want', keys: wantKeys(keys, i) }) }]
    case 'heavy-push': return [{ topic: PUSH_TOPIC, bytes: heavyPush() }]
    default: return undefined
  }
}

/** Keys of a want: the given ones (real keys make holders answer with whole states) or made-up ones. */
function wantKeys (keys: readonly string[], i: number): string[] {
  if (keys.length > 0) return [...new Set(keys)].sort()
  return Array.from({ length: 64 }, (_, j) => `hostile/want/${String(i).padStart(8, '0')}/${String(j).padStart(3, '0')}`)
}

let heavy: Uint8Array | undefined
let heavyDeltas: Uint8Array | undefined
const heavyPush = (): Uint8Array => (heavy ??= costlyPush(MAX_GOSSIP_PUSH_BYTES - 64))

export type StreamForger = (keys: readonly string[]) => { frames: Frame[], bad: boolean }
/** Stream modes added from outside (registerStreamForger). */
export const STREAM_FORGERS: Record<string, StreamForger> = {}

/** Adds a stream mode: e.g. forged owned-key changes sent as session `deltas`. */
export function registerStreamForger (mode: string, forger: StreamForger): void {
  STREAM_FORGERS[mode] = forger
}

/** Stream frames to write, per mode (none: not a stream mode). `bad`: each frame is one the peer must count as a bad frame. */
export function framesFor (mode: string, keys: readonly string[]): { frames: Frame[], bad: boolean } | undefined {
  const forger = STREAM_FORGERS[mode]
  if (forger !== undefined) return forger(keys)
  switch (mode) {
    // A length over MAX_WIRE_BYTES: refused from the prefix alone.
    case 'oversize-frame': return { frames: [{ prefix: varint(MAX_WIRE_BYTES + 1), body: new Uint8Array(16) }], bad: true }
    // A non-shortest length prefix (0x85 0x00 = 5 in two bytes).
    case 'bad-prefix': return { frames: [{ prefix: Uint8Array.of(0x85, 0x00), body: new Uint8Array(5) }], bad: true }
    // Bytes of the announced length that are no message.
    case 'garbage-frame': return { frames: [frameOf(garbage())], bad: true }
    // A frame announcing 1000 bytes, 10 sent, then the stream ends: nothing is handed on, the stream just ends.
    case 'truncated-frame': return { frames: [{ prefix: varint(1000), body: new Uint8Array(10), end: true }], bad: false }
    case 'digests': return { frames: [frameOf(encodeMessage({ type: 'digest', fp: randomBytes(16) }))], bad: false }
    // The 23-byte whole-store request under a fresh session id (issue 9).
    case 'ranges': return { frames: [frameOf(encodeMessage({ type: 'ranges', sid: nextSid(), seq: 0, fps: [{ lo: '', hi: null, count: 0, fp: new Uint8Array(4) }], items: [], sums: [] }))], bad: false }
    case 'sums': return { frames: [frameOf(encodeMessage({ type: 'sums', sid: nextSid(), seq: 0, reply: true, sums: [], lacking: keys.length > 0 ? [...new Set(keys)].sort() : ['hostile/lacking'] }))], bad: false }
    // A session `deltas` of about MAX_MESSAGE_BYTES holding one costly invalid state.
    // (Each under a fresh session id, so no two frames are the same bytes: the receiver refuses a replayed one unread.)
    case 'heavy-deltas': return { frames: [frameOf(freshSid(heavyDeltas ??= costlyDeltas(MAX_MESSAGE_BYTES - 64)))], bad: true }
    default: return undefined
  }
}

export const GOSSIP_MODES = ['garbage', 'gossip-digests', 'wants', 'heavy-push'] as const
export const STREAM_MODES = ['oversize-frame', 'bad-prefix', 'garbage-frame', 'truncated-frame', 'digests', 'ranges', 'sums', 'heavy-deltas'] as const
