/**
 * What a gossiped message must pass before it costs us any work of our own
 * (decoding, validating, the engine): run first in the topic validator.
 *
 * - A message delivered by a peer whose gossipsub score is below the graylist
 *   threshold is ignored unread. gossipsub checks the score once per RPC, when
 *   it arrives, so a burst of RPCs read together would all be validated even
 *   after the first few made their sender's score fall below it.
 * - Digests and wants are rate limited per author: an honest peer publishes
 *   one digest per anti-entropy period (1 s by default; a few more when peers join) and
 *   wants for the keys it reads, so DIGESTS_PER_SEC and WANTS_PER_SEC (with
 *   bursts of twice that) leave it far inside; past them a message is ignored
 *   (neither delivered nor forwarded). A digest past its rate also reports its
 *   author as misbehaving (the host lowers its score: a flooder is graylisted);
 *   a want does not (an app reading many keys at once can send a burst). The
 *   author pays, not the neighbour that forwarded the message: ignoring costs
 *   the forwarder nothing.
 * Pushes are not rate limited (they carry data, and gossip validation
 * rejects invalid ones, which costs their sender score at once).
 */
import { TokenBucket } from '../core/sync/peer-budget.ts'
import { DIGEST_TOPIC, WANT_TOPIC } from '../core/sync/types.ts'

/** gossipsub's graylist threshold (node/gossip-config.ts): below it a peer is ignored. */
export const GRAYLIST_THRESHOLD = -80
export const DIGESTS_PER_SEC = 20
export const WANTS_PER_SEC = 200
/** Authors whose buckets are remembered; past this the least recently heard are forgotten. */
const MAX_AUTHORS = 4096

export type GateVerdict = 'pass' | 'graylisted' | 'over_rate'

export interface GossipGateStats {
  /** Messages ignored unread because their deliverer is graylisted. */
  gossipGraylisted: number
  /** Digests and wants ignored because their author sent more than its rate. */
  gossipOverRate: number
}

export class GossipGate {
  readonly #score: (peer: string) => number
  readonly #rates: Record<string, number>
  /** Per author and topic, least recently used first. */
  readonly #buckets = new Map<string, TokenBucket>()
  readonly stats: GossipGateStats = { gossipGraylisted: 0, gossipOverRate: 0 }

  /** `score`: a peer's gossipsub score; `rates`: messages a second per topic (default: digests and wants as above). */
  constructor (score: (peer: string) => number, rates: Record<string, number> = { [DIGEST_TOPIC]: DIGESTS_PER_SEC, [WANT_TOPIC]: WANTS_PER_SEC }) {
    this.#score = score
    this.#rates = rates
  }

  /** `from`: the neighbour that delivered it; `author`: who signed it. */
  check (topic: string, from: string, author: string, now = Date.now()): GateVerdict {
    if (this.#score(from) < GRAYLIST_THRESHOLD) { this.stats.gossipGraylisted++; return 'graylisted' }
    const rate = this.#rates[topic]
    if (rate === undefined) return 'pass'
    const id = `${topic}\0${author}`
    let b = this.#buckets.get(id)
    if (b === undefined) {
      b = new TokenBucket(2 * rate, rate / 1000, now)
      if (this.#buckets.size >= MAX_AUTHORS) this.#buckets.delete(this.#buckets.keys().next().value as string)
    } else {
      this.#buckets.delete(id)
    }
    this.#buckets.set(id, b)
    if (b.take(1, now)) return 'pass'
    this.stats.gossipOverRate++
    return 'over_rate'
  }
}
