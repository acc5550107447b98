/**
 * `--allow-peer PEERID`: a node that connects only with the peers named.
 * libp2p's connection gater refuses every other one at connection time, both
 * ways: we never dial a peer not on the list (denyDialPeer), and a connection
 * whose remote peer, as noise proved it, is not on the list is closed before
 * any stream opens on it (denyInbound/OutboundEncryptedConnection). An inbound
 * stranger still completes noise, so it learns our peer id; only a swarm key
 * (node/swarm-key.ts) hides even that.
 *
 * It is about connections, not data: a change written by a peer outside the
 * list can still reach us through a listed peer that relays it (gossip is
 * signed by its author and forwarded). Who may write a key is the key's writers.
 */
import type { ConnectionGater, PeerId } from '@libp2p/interface'
import { parsePeerId } from './peer-address.ts'

/** The allow list as peer id strings; a malformed id throws PeerAddressError naming it. */
export function parseAllowList (ids: readonly string[], what = '--allow-peer'): ReadonlySet<string> {
  return new Set(ids.map(id => parsePeerId(id, what).toString()))
}

/**
 * The connection gater of a node: `denyDial` (forgotten peers, node/peer-book.ts) is always asked;
 * with an allow list, every peer not on it is refused both ways.
 */
export function connectionGater (allowed: ReadonlySet<string> | undefined, denyDial?: (peer: string) => boolean, denyPeer?: (peer: string) => boolean): ConnectionGater {
  // denyPeer: peers refused for now, both ways (banned: node/refusal-bans.ts).
  const refused = (peer: PeerId): boolean => (allowed !== undefined && !allowed.has(peer.toString())) || (denyPeer?.(peer.toString()) ?? false)
  return {
    denyDialPeer: peer => refused(peer) || (denyDial?.(peer.toString()) ?? false),
    denyInboundEncryptedConnection: peer => refused(peer),
    denyOutboundEncryptedConnection: peer => refused(peer)
  }
}
