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

export function buildPeerReport (self: string, journal: Journal, key: string, peer: string, a: Inspected | undefined, c: Comparison | undefined, heardAt: number | undefined): PeerReport {
  const records = journal.query({ key, peer })
  const exchange = records.findLast(r => r.kind === 'merged')
  const ours = records.findLast(r => r.kind === 'refused')
  let lastError: PeerReport['lastError'] = null
  if (ours?.kind === 'refused') lastError = { at: iso(ours.at), reason: ours.reason, message: ours.message, by: 'self' }
  if (a?.refused !== undefined && (ours === undefined || a.refused.at > ours.at)) lastError = { at: iso(a.refused.at), reason: a.refused.reason, message: a.refused.message, by: peer }
  return {
    peerId: peer,
    ...(a === undefined ? {} : { replica: a.replica }),
    state: c?.state ?? 'no_answer',
    missing: c?.missing ?? [],
    unidentified: c === undefined ? null : c.unidentified,
    ...(c?.contract === undefined ? {} : { contract: c.contract }),
    ...(c?.note === undefined ? {} : { note: c.note }),
    lastExchange: lastExchange(exchange?.kind === 'merged' ? { at: exchange.at, path: exchange.path, from: peer } : undefined, a?.received === undefined ? undefined : { ...a.received, from: self }),
    lastError,
    lastHeard: lastHeardOf(journal, peer, heardAt)
  }
}

function lastExchange (...xs: Array<{ at: number, path: string, from: string } | undefined>): PeerReport['lastExchange'] {
  const newest = xs.filter(x => x !== undefined).sort((a, b) => b.at - a.at)[0]
  return newest === undefined ? null : { at: iso(newest.at), path: newest.path, from: newest.from }
}

/** The later of its last answer and its newest journal record. */
export function lastHeardOf (journal: Journal, peer: string, heardAt: number | undefined): string | null {
  const rec = journal.query({ peer, limit: 1 })[0]
  const at = Math.max(heardAt ?? -Infinity, rec?.at ?? -Infinity)
  return Number.isFinite(at) ? iso(at) : null
}

/** Peers we know of: connected, answered before, or named by the journal ('*', a want to all, is no peer). */
export function knownPeers (journal: Journal, connected: readonly string[], heard: readonly string[]): string[] {
  const out = new Set([...connected, ...heard])
  for (const r of journal.query()) if (r.peer !== '*' && r.kind !== 'written') out.add(r.peer)
  return [...out]
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
