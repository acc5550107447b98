/**
 * For peers before message type 9, which never hear the writes topic (PROTOCOL.md §3.1): the type-1 copy
 * of writes-push items we accepted, for those of them gossip reaches only through us. The transport
 * publishes it only if some neighbour lacks the writes topic, and it is encoded (and counted) only then.
 */
import { type DeltaItem, encodeMessage } from './messages.ts'
import { type SyncStats, countSent } from './stats.ts'
import { PUSH_TOPIC, type SyncAction, WRITES_TOPIC } from './types.ts'

export function relayForOlder (stats: SyncStats, items: DeltaItem[]): SyncAction {
  let bytes: Uint8Array | undefined
  return {
    type: 'relay',
    topic: PUSH_TOPIC,
    lacking: WRITES_TOPIC,
    get bytes (): Uint8Array {
      if (bytes === undefined) {
        bytes = encodeMessage({ type: 'push', items })
        countSent(stats, 'push', bytes.length)
      }
      return bytes
    }
  }
}
