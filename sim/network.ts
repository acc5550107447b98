/**
 * The simulated network between N peers: which pairs are connected, which
 * directions are blocked, and the fate of each message (lost, delivered after
 * a delay, or delivered twice). It decides; the cluster schedules deliveries
 * on the virtual clock and tells the engines about connections coming and going.
 *
 * A peer pair is connected when both peers are up and no split or isolation
 * separates them: that is what a transport would report as a live connection.
 * A one-way block loses messages silently while the connection looks fine.
 */
import type { Random } from './random.ts'

export interface LinkFaults { drop: number, dup: number, delayMs: number }

export interface PeerTraffic { messagesSent: number, bytesSent: number, messagesReceived: number, bytesReceived: number }

export class Network {
  readonly peers: number
  readonly #rng: Random
  readonly #faults: LinkFaults
  readonly #up: boolean[]
  /** Splits separating each unordered pair (index a*n+b, a < b). */
  readonly #cuts: Uint16Array
  /** One-way blocks on each ordered pair (index from*n+to). */
  readonly #blocks: Uint16Array
  readonly traffic: PeerTraffic[]
  dropped = 0
  duplicated = 0
  /** Messages that found no connection (partitioned, blocked or a peer down). */
  unreachable = 0

  constructor (peers: number, rng: Random, faults: LinkFaults) {
    this.peers = peers
    this.#rng = rng
    this.#faults = faults
    this.#up = new Array<boolean>(peers).fill(true)
    this.#cuts = new Uint16Array(peers * peers)
    this.#blocks = new Uint16Array(peers * peers)
    this.traffic = Array.from({ length: peers }, () => ({ messagesSent: 0, bytesSent: 0, messagesReceived: 0, bytesReceived: 0 }))
  }

  isUp (p: number): boolean { return this.#up[p] }

  connected (a: number, b: number): boolean {
    return a !== b && this.#up[a] && this.#up[b] && this.#cuts[pair(a, b, this.peers)] === 0
  }

  /** Peers `p` is connected to, in order. */
  neighbours (p: number): number[] {
    const out: number[] = []
    for (let q = 0; q < this.peers; q++) if (this.connected(p, q)) out.push(q)
    return out
  }

  /** Delivery delays (ms) of one message: none when lost, two when duplicated. Counts it as sent. */
  transmit (from: number, to: number, size: number): number[] {
    const t = this.traffic[from]
    t.messagesSent++
    t.bytesSent += size
    if (!this.connected(from, to) || this.#blocks[from * this.peers + to] > 0) { this.unreachable++; return [] }
    if (this.#rng.chance(this.#faults.drop)) { this.dropped++; return [] }
    const delays = [this.#delay()]
    if (this.#rng.chance(this.#faults.dup)) { this.duplicated++; delays.push(this.#delay()) }
    return delays
  }

  /** Whether a message in flight from `from` may still arrive at `to` now (the connection is still there). */
  canDeliver (from: number, to: number): boolean {
    return this.connected(from, to) && this.#blocks[from * this.peers + to] === 0
  }

  received (to: number, size: number): void {
    this.traffic[to].messagesReceived++
    this.traffic[to].bytesReceived += size
  }

  /** Separates `side` from everyone else; returns the pairs that lost their connection. */
  split (side: readonly number[]): Array<[number, number]> {
    return this.#eachAcross(side, (a, b) => {
      const was = this.connected(a, b)
      this.#cuts[pair(a, b, this.peers)]++
      return was
    })
  }

  /** Undoes one split of `side`; returns the pairs that got their connection back. */
  heal (side: readonly number[]): Array<[number, number]> {
    return this.#eachAcross(side, (a, b) => {
      const i = pair(a, b, this.peers)
      if (this.#cuts[i] === 0) throw new Error(`heal of ${a}–${b} without a split`)
      this.#cuts[i]--
      return this.connected(a, b)
    })
  }

  /** Blocks (or, with `by` = -1, unblocks) every message from `side` to the rest. */
  block (side: readonly number[], by: 1 | -1 = 1): void {
    const inside = new Set(side)
    for (const a of inside) {
      for (let b = 0; b < this.peers; b++) if (!inside.has(b)) this.#blocks[a * this.peers + b] += by
    }
  }

  /** Takes a peer down or up; returns the peers whose connection to it changed. */
  setUp (p: number, up: boolean): number[] {
    const before = this.neighbours(p)
    this.#up[p] = up
    return up ? this.neighbours(p) : before
  }

  #delay (): number {
    return 1 + this.#rng.between(0, this.#faults.delayMs)
  }

  #eachAcross (side: readonly number[], fn: (a: number, b: number) => boolean): Array<[number, number]> {
    const inside = new Set(side)
    const changed: Array<[number, number]> = []
    for (const a of [...inside].sort((x, y) => x - y)) {
      for (let b = 0; b < this.peers; b++) {
        if (inside.has(b)) continue
        if (fn(a, b)) changed.push([a, b])
      }
    }
    return changed
  }
}

function pair (a: number, b: number, n: number): number {
  return a < b ? a * n + b : b * n + a
}
