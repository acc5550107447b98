/**
 * How monoidb uses gossipsub: the four topics of the sync protocol, the options
 * it runs with, and the check every gossiped message passes before it is
 * forwarded. Topic scoring is on (gossipsub leaves it off by default, so a
 * rejected message would cost its sender nothing): a peer whose messages we
 * reject loses score, then stops getting our gossip, then is ignored.
 */
import { type GossipsubOpts, TopicValidatorResult } from '@libp2p/gossipsub'
import type { TopicScoreParams } from '@libp2p/gossipsub/score'
import { DIGEST_TOPIC, PUSH_TOPIC, WANT_TOPIC, WRITES_TOPIC } from '../core/sync/types.ts'
import { INSPECT_TOPIC } from '../core/sync/inspect-messages.ts'
import type { PushVerdict } from '../core/sync/push-check.ts'
import { type DeltaItem, MAX_GOSSIP_PUSH_BYTES, MAX_WIRE_BYTES, type Message, ProtocolError, decodeMessage, encodeMessage } from '../core/sync/messages.ts'
import { HASH_BYTES } from '../core/sync/key-index.ts'

/** The topics every peer of protocol version 2 subscribes to: a peer subscribed to all of them hears our pushes and digests. */
export const BASE_TOPICS = [PUSH_TOPIC, DIGEST_TOPIC, WANT_TOPIC] as const
/** With the topic of `writes` pushes (type 9), which peers before it never subscribe to. */
export const SYNC_TOPICS = [...BASE_TOPICS, WRITES_TOPIC] as const
/** Every topic we subscribe to and relay: the sync topics and inspection's (core/sync/inspect-messages.ts). */
export const GOSSIP_TOPICS = [...SYNC_TOPICS, INSPECT_TOPIC] as const

/**
 * Largest gossipsub RPC frame we read: one message of MAX_WIRE_BYTES plus its envelope (signature,
 * key, sequence number, topic, control entries) with room to spare; gossipsub frames fail past 4 MiB.
 */
export const MAX_GOSSIP_FRAME_BYTES = 2 * MAX_WIRE_BYTES + 64 * 1024

/**
 * Per-topic scores. Only two components matter for a database whose topics are quiet for long
 * stretches: invalid messages (P4) cost a lot, valid first deliveries (P2) earn a little. Mesh
 * delivery rates (P3, P3b) are off: a peer with nothing to say is not misbehaving.
 */
const TOPIC_SCORE: Partial<TopicScoreParams> = {
  topicWeight: 1,
  timeInMeshWeight: 0.01,
  timeInMeshQuantum: 1_000,
  timeInMeshCap: 300,
  firstMessageDeliveriesWeight: 0.5,
  firstMessageDeliveriesDecay: 0.9,
  firstMessageDeliveriesCap: 20,
  meshMessageDeliveriesWeight: 0,
  meshFailurePenaltyWeight: 0,
  // One invalid message: −20 (below the gossip threshold, −10); two: −80 (graylisted). Decays by 10% a second.
  invalidMessageDeliveriesWeight: -20,
  invalidMessageDeliveriesDecay: 0.9
}

/**
 * Duplicates are dropped before their signature is checked (gossipsub checks it first otherwise: with
 * five peers in a full mesh, 16 ed25519 checks per message where 4 do). Under StrictSign the message id
 * is author + sequence number, so the fast id is the same: only a message that passed validation is
 * remembered by it, and another message under the same id would need the author's signature.
 */
export function fastMessageId (msg: { from?: Uint8Array, seqno?: Uint8Array }): string {
  if (msg.from === undefined || msg.seqno === undefined) return '' // unsigned: refused, never remembered
  return `${Buffer.from(msg.from).toString('base64')}/${Buffer.from(msg.seqno).toString('base64')}`
}

export function gossipOptions (): Partial<GossipsubOpts> {
  return {
    fastMsgIdFn: fastMessageId,
    // One RPC, and one message of it, at a time per peer: a flooder's burst waits on its own stream (flow
    // control holds it back) instead of being validated all at once, and once its score falls below the
    // graylist threshold its next RPC is dropped unread (gossipsub checks that as each RPC starts).
    awaitRpcHandler: true,
    awaitRpcMessageHandler: true,
    allowPublishToZeroTopicPeers: true,
    ignoreDuplicatePublishError: true,
    // Our topics only: subscriptions to anything else are ignored, and nothing else is relayed.
    allowedTopics: [...GOSSIP_TOPICS],
    fallbackToFloodsub: false,
    emitSelf: false,
    maxInboundDataLength: MAX_GOSSIP_FRAME_BYTES,
    maxOutboundBufferSize: 8 * MAX_GOSSIP_FRAME_BYTES,
    scoreParams: {
      topics: Object.fromEntries(GOSSIP_TOPICS.map(t => [t, TOPIC_SCORE as TopicScoreParams])),
      // Every test peer, and peers behind one NAT, share an address: do not punish that.
      IPColocationFactorWeight: 0
    },
    scoreThresholds: { gossipThreshold: -10, publishThreshold: -50, graylistThreshold: -80 }
  }
}

/**
 * The largest digest any peer sends (both fingerprints and the partial flag), four times over: anything larger
 * on the digest topic is no digest, refused before it is decoded (a 1 MiB "digest" of small maps took 350 ms
 * of the event loop to decode and refuse). Computed from the encoder, so it follows the protocol's digest.
 */
export const MAX_GOSSIP_DIGEST_BYTES = 4 * encodeMessage({ type: 'digest', fp: new Uint8Array(HASH_BYTES), was: new Uint8Array(HASH_BYTES), partial: true }).length

/** The message type each topic carries. */
const TOPIC_TYPE: Record<string, Message['type']> = { [PUSH_TOPIC]: 'push', [DIGEST_TOPIC]: 'digest', [WANT_TOPIC]: 'want', [WRITES_TOPIC]: 'writes' }

export interface GossipCheck {
  /** Accept: deliver and forward. Reject: drop, and the sender loses score. Ignore: drop, no penalty. */
  result: TopicValidatorResult
  /** The bytes are no message at all: the engine should see them, to count them (badMessages). */
  garbage: boolean
  /**
   * Why a well-formed message was refused or ignored: 'invalid' (a push item its contract refuses), 'large' (a push
   * over MAX_GOSSIP_PUSH_BYTES), 'unjudged' (a push with an item of a contract this peer lacks: not forwarded, but
   * still for our engine, which merges what it can and counts the rest).
   */
  why?: 'invalid' | 'large' | 'unjudged'
  /** For 'invalid': the refused item's key and what its contract said. */
  refused?: { key: string, message: string, /** Absent: 'invalid'. */ reason?: 'unauthorized_write' }
}

/** The verdict on a push's items (see core/sync/push-check.ts): empty when every item is valid here. */
export type PushCheck = (items: readonly DeltaItem[]) => PushVerdict

/**
 * Whether a gossiped message may be delivered and forwarded: it must decode as a message of the
 * topic's type. Another protocol version is ignored (not forwarded, no penalty: the sender may just
 * be newer); anything else that fails is rejected, which costs the sender score. A push must also be
 * at most MAX_GOSSIP_PUSH_BYTES (a larger one, which peers before that limit may publish, is ignored
 * unread: its data comes by anti-entropy) and pass `checkPush`: one whose items a contract refuses
 * is rejected before it is delivered or forwarded. One with an item this peer cannot judge (a contract
 * it lacks, at the top or inside an or-map) is ignored: no penalty, and not forwarded by us, since
 * a peer that has the contract would charge us if it were invalid. A "digest" over MAX_GOSSIP_DIGEST_BYTES is
 * rejected unread.
 */
export function checkGossip (topic: string, bytes: Uint8Array, checkPush?: PushCheck): GossipCheck {
  if ((topic === PUSH_TOPIC || topic === WRITES_TOPIC) && bytes.length > MAX_GOSSIP_PUSH_BYTES) return { result: TopicValidatorResult.Ignore, garbage: false, why: 'large' }
  // Unread, so not handed to the engine either (it would decode it to count it).
  if (topic === DIGEST_TOPIC && bytes.length > MAX_GOSSIP_DIGEST_BYTES) return { result: TopicValidatorResult.Reject, garbage: false }
  let msg: Message
  try {
    msg = decodeMessage(bytes)
  } catch (err) {
    const newer = err instanceof ProtocolError && err.code === 'bad_version'
    return { result: newer ? TopicValidatorResult.Ignore : TopicValidatorResult.Reject, garbage: true }
  }
  if (TOPIC_TYPE[topic] !== msg.type) return { result: TopicValidatorResult.Reject, garbage: false }
  if ((msg.type === 'push' || msg.type === 'writes') && checkPush !== undefined) {
    const v = checkPush(msg.items)
    if (v.invalid !== undefined) return { result: TopicValidatorResult.Reject, garbage: false, why: 'invalid', ...(v.key === undefined ? {} : { refused: { key: v.key, message: v.invalid, ...(v.reason === undefined ? {} : { reason: v.reason }) } }) }
    if (v.unjudged !== undefined) return { result: TopicValidatorResult.Ignore, garbage: false, why: 'unjudged' }
  }
  return { result: TopicValidatorResult.Accept, garbage: false }
}
