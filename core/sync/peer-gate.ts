/**
 * What the engine lets each peer make it do (PROTOCOL.md §10 "Per-peer limits", §13): the per-peer budgets
 * of sessions and answer bytes, a separate bucket of inspection questions (so inspecting never costs a peer
 * its sessions), and what happens when a peer goes past them: the request is dropped, counted, and the
 * peer is reported to the host, which lowers its standing.
 */
import { type Misbehaviour, type PeerCost, PeerBudgets } from './peer-budget.ts'
import type { SyncStats } from './stats.ts'
import type { PeerId, SyncAction, SyncConfig } from './types.ts'

export class PeerGate {
  readonly budgets: PeerBudgets
  readonly #questions: PeerBudgets
  readonly #stats: SyncStats
  readonly #onMisbehaviour: ((peer: PeerId, what: Misbehaviour) => void) | undefined

  constructor (config: SyncConfig, stats: SyncStats, onMisbehaviour: ((peer: PeerId, what: Misbehaviour) => void) | undefined) {
    const limits = { sessionsPerPeriod: config.peerSessionsPerPeriod, periodMs: config.antiEntropyMs, bytesPerSec: config.peerBytesPerSec }
    this.budgets = new PeerBudgets(limits)
    this.#questions = new PeerBudgets(limits)
    this.#stats = stats
    this.#onMisbehaviour = onMisbehaviour
  }

  /** Drops a peer's request unanswered, counted against it. */
  refuse (peer: PeerId, what: Misbehaviour, now: number): SyncAction[] {
    this.#stats.requestsRefused++
    this.misbehaved(peer, what, now)
    return []
  }

  misbehaved (peer: PeerId, what: Misbehaviour, now: number): void {
    this.budgets.count(peer, what, now)
    try { this.#onMisbehaviour?.(peer, what) } catch { /* the reporter must not stop the engine */ }
  }

  /** Charges what `actions` send to `peer` against its byte budget. */
  chargeSent (peer: PeerId, actions: readonly SyncAction[], now: number): void {
    let bytes = 0
    for (const a of actions) if (a.type === 'send' && a.to === peer) bytes += a.bytes.length
    this.budgets.charge(peer, bytes, now)
  }

  /** An inspection answer of `bytes` for `peer`, charged like a session answer; false (refused, counted) when it has spent its bytes for now. */
  chargeAnswer (peer: PeerId, bytes: number, now: number): boolean {
    if (this.budgets.allowance(peer, now) <= 0) { this.refuse(peer, 'bytes', now); return false }
    this.budgets.charge(peer, bytes, now)
    return true
  }

  /** Takes one of `peer`'s inspection questions; false: refused, counted as a `sessions` refusal (it asks faster than that). */
  admitQuestion (peer: PeerId, now: number): boolean {
    if (this.#questions.openSession(peer, now)) return true
    this.refuse(peer, 'sessions', now)
    return false
  }

  costs (): Record<PeerId, PeerCost> {
    return this.budgets.costs()
  }
}
