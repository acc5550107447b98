/**
 * The inspection messages (PROTOCOL.md §13): type 10 `inspect`, a question
 * about one key published on INSPECT_TOPIC, and type 11 `inspected`, a peer's
 * answer published on the same topic for the asker. They share the sync
 * messages' frame `[2, type, ...fields]` and their strictness: anything off is
 * a ProtocolError. They travel only on their own topic, so a peer that does not
 * know them never subscribes to it and never sees one.
 */
import { type Plain, decode, encode } from '../codec.ts'
import type { BoundRef } from '../subscription.ts'
import { HASH_BYTES } from './key-index.ts'
import { PROTOCOL_VERSION, versionError } from './messages.ts'
import { ProtocolError, bool, bytes, key, ref, refWire, short, tuple, uint } from './wire.ts'

/** Peers that know the inspection messages subscribe to this topic; questions and answers both travel on it. */
export const INSPECT_TOPIC = 'monoidb/3/inspect'
export const INSPECT_TYPE = 10
export const INSPECTED_TYPE = 11
/** Bytes of a query id: random, so answers to one question are told from answers to another. */
export const QUERY_ID_BYTES = 8
/** A summary (or a write's delta) larger than this does not travel in an inspection message: the message says so instead. */
export const MAX_INSPECT_VALUE_BYTES = 32 * 1024
/** No inspection message is larger (two capped values and their frame). */
export const MAX_INSPECT_BYTES = 2 * MAX_INSPECT_VALUE_BYTES + 4096
/** Longest peer id, replica id, write id, path or refusal text an answer carries. */
export const MAX_TEXT = 300

export interface Inspect {
  type: 'inspect'
  qid: Uint8Array
  key: string
  /** The asker's binding, item hash and summary of the key (summary undefined when too large); undefined when it holds nothing. */
  mine?: { contract: BoundRef, digest: Uint8Array, summary?: Plain }
  /** A trace: the write id whose arrival to report. */
  write?: string
  /** A trace: when the write was made (ms, the writer's clock), if the asker knows; lets an answer name the merge that likely brought it. */
  since?: number
}

/**
 * What the answering peer has of the key. `kept`: it keeps the key; `contract`, `digest` and `summary` are
 * undefined when it holds nothing yet, `summary` alone when over MAX_INSPECT_VALUE_BYTES (`tooLarge`).
 * `hasMore`: it holds something the asker lacks (computed from the asker's summary; undefined: unknown).
 */
export type PeerKeyState =
  | { kind: 'kept', contract?: BoundRef, digest?: Uint8Array, summary?: Plain, tooLarge: boolean, hasMore?: boolean }
  | { kind: 'not_kept' }
  | { kind: 'lacks_contract', contract: string }

/** The writer's delta log entry for a traced write: `logged` (with its delta unless too large), `too_old` (fell out of the log), `unknown` (no such write here). */
export type WriteStatus = { status: 'logged', delta?: Plain } | { status: 'too_old' } | { status: 'unknown' }

export interface Inspected {
  type: 'inspected'
  qid: Uint8Array
  /** The asker's peer id: other peers relay the answer and ignore it. */
  to: string
  /** The answering peer's replica id (how its writes are named). */
  replica: string
  state: PeerKeyState
  /**
   * For a trace: the answerer's journal on the write's arrival, if it remembers it. `exact`: a record names
   * the write; else the first merge that changed the key at or after the question's `since` (deltas repaired
   * by anti-entropy carry no write ids).
   */
  arrival?: { at: number, path: string, from: string, exact: boolean }
  /** For a trace whose write the answerer wrote (same replica id): its delta log entry. */
  written?: WriteStatus
  /** The last refusal about the key of something from the asker, in the answerer's journal. */
  refused?: { at: number, reason: string, message: string }
  /** The answerer's newest journal record of something of the key received from the asker (a merge or a want's answer). */
  received?: { at: number, path: string }
}

export type InspectMessage = Inspect | Inspected

// ---- encoding --------------------------------------------------------------------------------

const STATE_NUMBER = { kept: 0, not_kept: 1, lacks_contract: 2 } as const
const WRITE_NUMBER = { logged: 0, too_old: 1, unknown: 2 } as const

function stateWire (s: PeerKeyState): Plain {
  switch (s.kind) {
    case 'kept': return [0, s.contract === undefined ? null : refWire(s.contract), s.digest ?? null, boxed(s.summary), s.tooLarge, s.hasMore ?? null]
    case 'not_kept': return [1]
    case 'lacks_contract': return [2, s.contract]
  }
}

function writeWire (w: WriteStatus): Plain {
  return w.status === 'logged' ? [0, boxed(w.delta)] : [WRITE_NUMBER[w.status]]
}

function toWire (m: InspectMessage): Plain {
  if (m.type === 'inspect') {
    const mine = m.mine === undefined ? null : [refWire(m.mine.contract), m.mine.digest, boxed(m.mine.summary)]
    return [PROTOCOL_VERSION, INSPECT_TYPE, m.qid, m.key, mine, m.write ?? null, m.write === undefined ? null : m.since ?? null]
  }
  return [
    PROTOCOL_VERSION, INSPECTED_TYPE, m.qid, m.to, m.replica, stateWire(m.state),
    m.arrival === undefined ? null : [m.arrival.at, m.arrival.path, m.arrival.from, m.arrival.exact],
    m.written === undefined ? null : writeWire(m.written),
    m.refused === undefined ? null : [m.refused.at, m.refused.reason, m.refused.message],
    m.received === undefined ? null : [m.received.at, m.received.path]
  ]
}

/** The canonical bytes of an inspection message; a RangeError if over MAX_INSPECT_BYTES (callers leave large values out first). */
export function encodeInspectMessage (m: InspectMessage): Uint8Array {
  const out = encode(toWire(m))
  if (out.length > MAX_INSPECT_BYTES) throw new RangeError(`inspection message of ${out.length} bytes is over ${MAX_INSPECT_BYTES}`)
  return out
}

/** Whether a value is small enough to travel in an inspection message. */
export function fits (value: Plain): boolean {
  return encode(value).length <= MAX_INSPECT_VALUE_BYTES
}

// ---- decoding --------------------------------------------------------------------------------

/** Decodes and validates one inspection message, or throws ProtocolError. */
export function decodeInspectMessage (b: Uint8Array): InspectMessage {
  if (!(b instanceof Uint8Array)) throw new ProtocolError('malformed', 'message is not a byte array')
  if (b.length > MAX_INSPECT_BYTES) throw new ProtocolError('too_large', `inspection message is ${b.length} bytes, over the ${MAX_INSPECT_BYTES}-byte limit`)
  let v: Plain
  try {
    v = decode(b, { maxBytes: MAX_INSPECT_BYTES })
  } catch (err) {
    throw new ProtocolError('malformed', `not canonical-safe CBOR: ${(err as Error).message}`)
  }
  let again: Uint8Array | undefined
  try { again = encode(v) } catch { /* refused below */ }
  if (again === undefined || Buffer.compare(again, b) !== 0) throw new ProtocolError('malformed', 'not canonical CBOR (shortest integer and length forms, sorted map keys)')
  try {
    return fromWire(v)
  } catch (err) {
    if (err instanceof ProtocolError) throw err
    throw new ProtocolError('bad_field', `message is malformed: ${(err as Error)?.message}`)
  }
}

function fromWire (v: Plain): InspectMessage {
  if (!Array.isArray(v) || v.length < 2) throw new ProtocolError('malformed', 'message must be an array [version, type, ...fields]')
  if (v[0] !== PROTOCOL_VERSION) throw versionError(v[0])
  const f = v.slice(2)
  const arity = (k: number): void => {
    if (f.length !== k) throw new ProtocolError('bad_field', `type ${v[1] as number} takes ${k} fields after the type, got ${f.length}`)
  }
  if (v[1] === INSPECT_TYPE) {
    arity(5)
    const m: Inspect = { type: 'inspect', qid: bytes(f[0], QUERY_ID_BYTES, 'query id', 1), key: key(f[1]) }
    if (f[2] !== null) {
      const [r, digest, summary] = tuple(f[2], 3, 'asker\'s summary')
      m.mine = { contract: ref(r), digest: bytes(digest, HASH_BYTES, 'summary digest', 1), ...(summary === null ? {} : { summary: unboxed(summary, 'summary') }) }
    }
    if (f[3] !== null) m.write = text(f[3], 'write id')
    if (f[4] !== null) {
      if (m.write === undefined) throw new ProtocolError('bad_field', 'a write time (since) comes only with a write id')
      m.since = uint(f[4], 'write time')
    }
    return m
  }
  if (v[1] === INSPECTED_TYPE) {
    arity(8)
    const m: Inspected = { type: 'inspected', qid: bytes(f[0], QUERY_ID_BYTES, 'query id', 1), to: text(f[1], 'asker'), replica: text(f[2], 'replica id'), state: state(f[3]) }
    if (f[4] !== null) {
      const [at, path, from, exact] = tuple(f[4], 4, 'arrival')
      m.arrival = { at: uint(at, 'arrival time'), path: text(path, 'arrival path'), from: text(from, 'arrival peer'), exact: bool(exact, 'arrival exact flag') }
    }
    if (f[5] !== null) m.written = written(f[5])
    if (f[6] !== null) {
      const [at, reason, message] = tuple(f[6], 3, 'refusal')
      m.refused = { at: uint(at, 'refusal time'), reason: text(reason, 'refusal reason'), message: text(message, 'refusal message') }
    }
    if (f[7] !== null) {
      const [at, path] = tuple(f[7], 2, 'last received')
      m.received = { at: uint(at, 'last received time'), path: text(path, 'last received path') }
    }
    return m
  }
  throw new ProtocolError('unknown_type', `unknown inspection message type ${short(v[1])}`)
}

function state (x: Plain): PeerKeyState {
  if (!Array.isArray(x) || x.length === 0) throw new ProtocolError('bad_field', `key state is malformed: ${short(x)}`)
  switch (x[0]) {
    case STATE_NUMBER.kept: {
      const [, r, digest, summary, tooLarge, hasMore] = tuple(x, 6, 'kept state')
      const large = bool(tooLarge, 'too-large flag')
      const s: PeerKeyState = { kind: 'kept', tooLarge: large }
      if (hasMore !== null) s.hasMore = bool(hasMore, 'has-more flag')
      if (r === null) {
        // Holding nothing: no digest, no summary, nothing too large.
        if (digest !== null || summary !== null || large) throw new ProtocolError('bad_field', 'a kept state without a contract holds nothing: digest, summary and too-large must be empty')
        return s
      }
      s.contract = ref(r)
      s.digest = bytes(digest, HASH_BYTES, 'summary digest', 1)
      if (summary !== null) {
        if (large) throw new ProtocolError('bad_field', 'a summary said to be too large is there')
        s.summary = unboxed(summary, 'summary')
      } else if (!large) {
        throw new ProtocolError('bad_field', 'a held key\'s summary is missing without being too large')
      }
      return s
    }
    case STATE_NUMBER.not_kept:
      tuple(x, 1, 'not-kept state')
      return { kind: 'not_kept' }
    case STATE_NUMBER.lacks_contract: {
      const [, c] = tuple(x, 2, 'lacks-contract state')
      return { kind: 'lacks_contract', contract: text(c, 'contract name') }
    }
    default: throw new ProtocolError('bad_field', `unknown key state ${short(x[0])}`)
  }
}

function written (x: Plain): WriteStatus {
  if (!Array.isArray(x) || x.length === 0) throw new ProtocolError('bad_field', `write status is malformed: ${short(x)}`)
  switch (x[0]) {
    case WRITE_NUMBER.logged: {
      const [, delta] = tuple(x, 2, 'logged write')
      return delta === null ? { status: 'logged' } : { status: 'logged', delta: unboxed(delta, 'write delta') }
    }
    case WRITE_NUMBER.too_old: tuple(x, 1, 'write status'); return { status: 'too_old' }
    case WRITE_NUMBER.unknown: tuple(x, 1, 'write status'); return { status: 'unknown' }
    default: throw new ProtocolError('bad_field', `unknown write status ${short(x[0])}`)
  }
}

function text (x: Plain, what: string): string {
  if (typeof x !== 'string' || x.length === 0 || x.length > MAX_TEXT || !x.isWellFormed()) throw new ProtocolError('bad_field', `${what} is malformed: ${short(x)}`)
  return x
}

/**
 * A summary or delta travels boxed, `[value]`, so that null stays free to mean "left out" whatever values a
 * contract uses. One over MAX_INSPECT_VALUE_BYTES is refused: an honest sender leaves it out.
 */
function boxed (x: Plain | undefined): Plain {
  return x === undefined ? null : [x]
}

function unboxed (x: Plain, what: string): Plain {
  const [value] = tuple(x, 1, what)
  if (!fits(value)) throw new ProtocolError('bad_field', `${what} is over ${MAX_INSPECT_VALUE_BYTES} bytes (it should have been left out)`)
  return value
}
