/**
 * DIR/peers: libp2p's peer store on LevelDB (datastore-level), and what monoidb adds to each peer's
 * record there (metadata): when it was last seen connected, and whether a user added it (connect).
 */
import { join } from 'node:path'
import type { Peer } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { LevelDatastore } from 'datastore-level'
import type { Logger } from './logger.ts'

/** Metadata key: when the peer was last seen connected (ms since the epoch, decimal text). */
export const LAST_SEEN = 'monoidb/last-seen'
/** Metadata key: the peer was added with connect (kept and redialed until forgotten). */
export const ADDED = 'monoidb/added'

/**
 * Opens DIR/peers, where libp2p's peer store lives. Peers are a convenience, not data: a folder that will
 * not open is logged and the node runs with an in-memory peer store (undefined).
 */
export async function openPeerData (dataDir: string, log: Logger): Promise<LevelDatastore | undefined> {
  const path = join(dataDir, 'peers')
  const ds = new LevelDatastore(path)
  try {
    await ds.open()
    return ds
  } catch (err) {
    log.warn({ path, err: (err as Error).message }, 'cannot open the peer store: known peers are not kept across restarts this run')
    return undefined
  }
}

/** When the peer was last seen connected, from its record; 0 if never (or unreadable). */
export function lastSeenOf (p: Peer): number {
  const v = p.metadata.get(LAST_SEEN)
  const n = v === undefined ? 0 : Number(new TextDecoder().decode(v))
  return Number.isSafeInteger(n) && n > 0 ? n : 0
}

/** The address without its trailing /p2p/<peer id>: how the peer store keeps addresses. */
export function withoutPeerId (addr: Multiaddr): Multiaddr {
  return addr.getComponents().at(-1)?.name === 'p2p' ? addr.decapsulateCode(421) : addr
}
