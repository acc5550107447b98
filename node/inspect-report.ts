/**
 * The per-peer lines of `monoidb inspect` (README "Inspect and trace"): a
 * peer's answer compared with our copy, and what our journal and its answer
 * say of the last exchange and the last error about the key.
 */
import type { Inspected } from '../core/sync/inspect-messages.ts'
import type { Comparison, PeerState } from '../core/sync/inspection.ts'
import type { Journal } from '../core/sync/journal.ts'

export interface PeerReport {
  peerId: string
  /** Its replica id (how its writes are named), when it answered. */
  replica?: string
  state: PeerState | 'no_answer'
  /** Our logged writes it lacks, oldest first. */
  missing: string[]
  /** 0: nothing more missing than `missing`; 1: at least one more write it lacks that we cannot name; null: not known. */
  unidentified: number | null
  /** For lacks_contract: the contract it lacks. */
  contract?: string
  /** Why the comparison is partial. */
  note?: string
  /**
   * The newest exchange of anything about the key between us, either way: what we received from it (our journal)
   * or what it received from us (its answer, from its journal); `from`: the sender's peer id.
   */
  lastExchange: { at: string, path: string, from: string } | null
  /** The last refusal about the key: of its data by us, or of ours by it (its answer); `by` names who refused. */
  lastError: { at: string, reason: string, message: string, by: string } | null
  /** When we last heard from it (an answer, or a journal record of it); null if never. */
  lastHeard: string | null
}

export const iso = (ms: number): string => new Date(ms).toISOString()

/** Session peers (our neighbours) listed as no_answer, the newest first; and past answerers listed likewise. */
export const LISTED_PEERS = 64

/** What the journal says of one peer: its newest record (any key), and its newest merge and refusal of the key. */
export interface PeerSeen {
  lastAt: number
  merged?: { at: number, path: string }
  refused?: { at: number, reason: string, message: string }
}

/** The journal read once for an inspection of `key`: each peer's PeerSeen, and the newest session peers. */
export interface JournalIndex {
  peers: Map<string, PeerSeen>
  /** Peers we had sessions with, the newest LISTED_PEERS, newest last. */
  sessions: string[]
}

/**
 * One pass over the journal. Its peers are often gossip authors (a push is journaled under its signer, and
 * signing keys are free), so they are indexed but not listed: only session peers are, and few of them.
 */
export function indexJournal (journal: Journal, key: string): JournalIndex {
  const peers = new Map<string, PeerSeen>()
  const sessions = new Map<string, true>()
  for (const r of journal.query()) {
    if (r.peer === '*') continue // a want to all is no peer
    let seen = peers.get(r.peer)
    if (seen === undefined) peers.set(r.peer, seen = { lastAt: r.at })
    seen.lastAt = Math.max(seen.lastAt, r.at)
    if (r.kind === 'session') { sessions.delete(r.peer); sessions.set(r.peer, true) }
    if (r.key !== key) continue
    if (r.kind === 'merged') seen.merged = { at: r.at, path: r.path }
    if (r.kind === 'refused') seen.refused = { at: r.at, reason: r.reason, message: r.message }
  }
  return { peers, sessions: [...sessions.keys()].slice(-LISTED_PEERS) }
}

export function buildPeerReport (self: string, seen: PeerSeen | undefined, peer: string, a: Inspected | undefined, c: Comparison | undefined, heardAt: number | undefined): PeerReport {
  const exchange = seen?.merged
  const ours = seen?.refused
  let lastError: PeerReport['lastError'] = null
  if (ours !== undefined) lastError = { at: iso(ours.at), reason: ours.reason, message: ours.message, by: 'self' }
  if (a?.refused !== undefined && (ours === undefined || a.refused.at > ours.at)) lastError = { at: iso(a.refused.at), reason: a.refused.reason, message: a.refused.message, by: peer }
  return {
    peerId: peer,
    ...(a === undefined ? {} : { replica: a.replica }),
    state: c?.state ?? 'no_answer',
    missing: c?.missing ?? [],
    unidentified: c === undefined ? null : c.unidentified,
    ...(c?.contract === undefined ? {} : { contract: c.contract }),
    ...(c?.note === undefined ? {} : { note: c.note }),
    lastExchange: lastExchange(exchange === undefined ? undefined : { ...exchange, from: peer }, a?.received === undefined ? undefined : { ...a.received, from: self }),
    lastError,
    lastHeard: lastHeardOf(seen, heardAt)
  }
}

function lastExchange (...xs: Array<{ at: number, path: string, from: string } | undefined>): PeerReport['lastExchange'] {
  const newest = xs.filter(x => x !== undefined).sort((a, b) => b.at - a.at)[0]
  return newest === undefined ? null : { at: iso(newest.at), path: newest.path, from: newest.from }
}

/** The later of its last answer and its newest journal record. */
export function lastHeardOf (seen: PeerSeen | undefined, heardAt: number | undefined): string | null {
  const at = Math.max(heardAt ?? -Infinity, seen?.lastAt ?? -Infinity)
  return Number.isFinite(at) ? iso(at) : null
}

/** Peers listed when they do not answer: connected now, the newest past answerers, the newest session peers (LISTED_PEERS each). */
export function knownPeers (index: JournalIndex, connected: readonly string[], heard: readonly string[]): string[] {
  return [...new Set([...connected, ...heard.slice(-LISTED_PEERS), ...index.sessions])]
}

/** The key's recent writes: from the journal (local writes and merges that brought ids), then logged ones it forgot. Oldest first, at most 20. */
export function recentWrites (journal: Journal, key: string, logged: readonly string[]): Array<{ id: string, origin: string, at: string | null, path: string | null }> {
  const out = new Map<string, { id: string, origin: string, at: string | null, path: string | null }>()
  for (const r of journal.query({ key })) {
    if (r.kind !== 'written' && r.kind !== 'merged') continue
    for (const id of r.writes) if (!out.has(id)) out.set(id, { id, origin: r.kind === 'written' ? 'local' : r.peer, at: iso(r.at), path: r.path })
  }
  const rest = logged.filter(id => !out.has(id)).map(id => ({ id, origin: 'local', at: null, path: 'local' }))
  return [...rest, ...out.values()].slice(-20)
}
