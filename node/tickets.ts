/**
 * Short-lived bearer secrets for where an Authorization header cannot go: a
 * browser's EventSource and the dashboard's first page load. `POST
 * /v1/tickets` (token-authenticated) issues one; it authorises event streams
 * (`?ticket=`) and the dashboard for `ttlMs` (60 s), and is reusable within
 * that time, so EventSource's own reconnects work. The same class keeps the
 * dashboard's cookie sessions (longer-lived, fewer).
 *
 * A ticket is 32 random bytes (base64url). Only its SHA-256 is kept: a lookup
 * by digest leaks nothing useful through timing (the attacker does not choose
 * the digest), and the stored digest is compared with timingSafeEqual. Tickets
 * are bounded in number: at the cap, a new one is refused until one expires
 * (never an older one evicted, which would break a page that is using it);
 * sessions (`evictOldest`) drop their oldest instead, so the newest page works.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'

export const TICKET_TTL_MS = 60_000
export const MAX_TICKETS = 1_000

export interface Issued {
  ticket: string
  expiresInMs: number
}

export class TicketsFull extends Error {
  /** When the oldest ticket expires, so a retry can succeed (ms from now). */
  readonly retryInMs: number
  constructor (max: number, retryInMs: number) {
    super(`${max} tickets are live, the most this daemon keeps; one expires within ${Math.ceil(retryInMs / 1000)} s`)
    this.retryInMs = retryInMs
  }
}

export class Tickets {
  readonly ttlMs: number
  readonly max: number
  readonly #evictOldest: boolean
  readonly #now: () => number
  /** SHA-256 (hex) → [digest, expiry]; insertion order is expiry order (one ttl for all). */
  readonly #live = new Map<string, { digest: Buffer, expires: number }>()

  constructor (options: { ttlMs?: number, max?: number, evictOldest?: boolean, now?: () => number } = {}) {
    this.ttlMs = options.ttlMs ?? TICKET_TTL_MS
    this.max = options.max ?? MAX_TICKETS
    if (!Number.isSafeInteger(this.ttlMs) || this.ttlMs < 1) throw new RangeError(`ticket ttlMs must be a whole number ≥ 1, got ${this.ttlMs}`)
    if (!Number.isSafeInteger(this.max) || this.max < 1) throw new RangeError(`max tickets must be a whole number ≥ 1, got ${this.max}`)
    this.#evictOldest = options.evictOldest ?? false
    this.#now = options.now ?? Date.now
  }

  /** Tickets live now. */
  get size (): number {
    this.#prune()
    return this.#live.size
  }

  /** A new ticket; TicketsFull at the cap. */
  issue (): Issued {
    this.#prune()
    if (this.#live.size >= this.max && this.#evictOldest) this.#live.delete(this.#live.keys().next().value!)
    if (this.#live.size >= this.max) {
      const oldest = this.#live.values().next().value!
      throw new TicketsFull(this.max, Math.max(0, oldest.expires - this.#now()))
    }
    const ticket = randomBytes(32).toString('base64url')
    const digest = sha256(ticket)
    this.#live.set(digest.toString('hex'), { digest, expires: this.#now() + this.ttlMs })
    return { ticket, expiresInMs: this.ttlMs }
  }

  /** Whether `ticket` is live. Anything that is not a string of a ticket's shape is simply not one. */
  valid (ticket: unknown): boolean {
    if (typeof ticket !== 'string' || ticket.length === 0 || ticket.length > 200) return false
    const digest = sha256(ticket)
    const held = this.#live.get(digest.toString('hex'))
    if (held === undefined || !timingSafeEqual(held.digest, digest)) return false
    if (held.expires <= this.#now()) { this.#live.delete(digest.toString('hex')); return false }
    return true
  }

  /** Forgets a ticket (a session ended). */
  revoke (ticket: string): void {
    this.#live.delete(sha256(ticket).toString('hex'))
  }

  #prune (): void {
    const now = this.#now()
    for (const [k, t] of this.#live) {
      if (t.expires > now) break
      this.#live.delete(k)
    }
  }
}

function sha256 (text: string): Buffer {
  return createHash('sha256').update(text).digest()
}
