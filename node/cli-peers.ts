/**
 * The CLI's peer commands, `peers`, `connect MULTIADDR` and `forget PEER` (node/cli.ts runs them): their
 * help, and the check of their argument before any daemon is looked for (bad usage is exit 2 either way).
 * The check loads the multiaddr and peer id parsers only when needed, so other commands start fast.
 */

export const PEER_HELP: Record<string, string> = {
  peers: `usage: monoidb peers [--data DIR | --api URL]

Prints every peer the daemon knows, connected or not (it keeps them in DIR/peers
across restarts), as a JSON array of
{"peerId","multiaddrs","subscribed","connected","connectedSince","lastSeen",
 "lastDialError","rttMs","inSync","clockSkewMs","gossipScore"}: connected ones first. Times are
ms since the epoch; lastDialError is {"at","message"} or null; see README "Peers".`,
  connect: `usage: monoidb connect MULTIADDR [--data DIR | --api URL]

Adds a peer at runtime and dials it, e.g.
  monoidb connect /ip4/127.0.0.1/tcp/7421/p2p/12D3KooW...
Prints the peer as \`peers\` shows it once the dial ended: "connected": true, or
false with its "lastDialError". The daemon keeps the peer (across restarts too)
and redials it with backoff until it is forgotten. A MULTIADDR that is not one,
or does not end in /p2p/<peer id>: exit 2.`,
  forget: `usage: monoidb forget PEER [--data DIR | --api URL]

Forgets a peer by its peer id: the daemon hangs up on it, removes it from its
peer store (DIR/peers) and stops redialing it. The peer may still connect to
this daemon itself (it is then known again). Exit 1, "monoidb: not_found: …",
if the daemon does not know it.`
}

/** Names of the commands' arguments, for "connect needs MULTIADDR". */
export const PEER_ARGS: Record<string, string[]> = { connect: ['MULTIADDR'], forget: ['PEER'] }

/** What is wrong with the command's argument, if anything. */
export async function peerArgError (command: string, arg: string): Promise<string | undefined> {
  const { PeerAddressError, parsePeerAddress, parsePeerId } = await import('./peer-address.ts')
  try {
    if (command === 'connect') parsePeerAddress(arg, 'MULTIADDR')
    if (command === 'forget') parsePeerId(arg, 'PEER')
    return undefined
  } catch (err) {
    if (err instanceof PeerAddressError) return err.message
    throw err
  }
}
