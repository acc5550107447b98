/**
 * createNode's who-may-connect options, checked before anything starts: the
 * swarm key's bytes (node/swarm-key.ts) and the allow list (node/allow-list.ts).
 */
import { parseAllowList } from './allow-list.ts'
import { parseSwarmKey } from './swarm-key.ts'

export interface ConnectionAccess {
  swarmKey?: Uint8Array
  allowPeers?: ReadonlySet<string>
}

/** Validates `swarmKey` and `allowPeers`; a bad one is a TypeError naming the option. */
export function connectionOptions (options: { swarmKey?: unknown, allowPeers?: unknown }): ConnectionAccess {
  const out: ConnectionAccess = {}
  if (options.swarmKey !== undefined) {
    if (!(options.swarmKey instanceof Uint8Array)) throw new TypeError('options.swarmKey must be a key file\'s bytes (a Uint8Array; see readSwarmKey)')
    try {
      out.swarmKey = parseSwarmKey(options.swarmKey, 'options.swarmKey')
    } catch (err) {
      throw new TypeError((err as Error).message)
    }
  }
  if (options.allowPeers !== undefined) {
    if (!Array.isArray(options.allowPeers) || !options.allowPeers.every(p => typeof p === 'string')) throw new TypeError('options.allowPeers must be an array of peer id strings')
    try {
      out.allowPeers = parseAllowList(options.allowPeers, 'options.allowPeers')
    } catch (err) {
      throw new TypeError((err as Error).message)
    }
  }
  return out
}
