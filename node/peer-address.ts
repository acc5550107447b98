/**
 * A peer's address as a user gives it (--bootstrap, `monoidb connect`, POST /v1/peers): a multiaddr
 * ending in /p2p/<peer id>. Parsed into the peer id and the address to dial, or an error that names
 * what is wrong with it.
 */
import type { PeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { type Multiaddr, multiaddr } from '@multiformats/multiaddr'

export class PeerAddressError extends Error {}

export interface PeerAddress {
  peerId: PeerId
  /** The whole address, /p2p/<peer id> included (what libp2p dials). */
  addr: Multiaddr
}

/** `what` names the address in errors, e.g. "bootstrap address". */
export function parsePeerAddress (text: string, what = 'address'): PeerAddress {
  if (typeof text !== 'string' || text.length === 0) throw new PeerAddressError(`${what} must be a non-empty multiaddr string ending in /p2p/<peer id>`)
  let addr: Multiaddr
  try {
    addr = multiaddr(text)
  } catch (err) {
    throw new PeerAddressError(`${what} ${JSON.stringify(text.slice(0, 200))} is not a multiaddr: ${(err as Error).message}`)
  }
  // The last /p2p/ component names the peer (earlier ones would be relays).
  const id = addr.getComponents().findLast(c => c.name === 'p2p')?.value
  if (id === undefined) throw new PeerAddressError(`${what} ${text} must end with /p2p/<peer id> (the peer it should reach)`)
  return { peerId: parsePeerId(id, `${what} ${text} has a bad peer id`), addr }
}

/** A peer id as text (a path segment of DELETE /v1/peers/{peerId}, say); `what` prefixes the error. */
export function parsePeerId (text: string, what = 'peer id'): PeerId {
  try {
    return peerIdFromString(text)
  } catch (err) {
    throw new PeerAddressError(`${what}: ${JSON.stringify(text.slice(0, 100))} is not a libp2p peer id (${(err as Error).message})`)
  }
}
