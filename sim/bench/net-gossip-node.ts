/**
 * One plain libp2p node for bench:net's raw gossipsub figures, run as a child
 * process and driven over IPC by net-gossip.ts. It is built like
 * node/libp2p-host.ts (TCP, noise, yamux, identify, gossipsub with monoidb's
 * gossipOptions, on the push topic) but with nothing behind it: no validator,
 * no store, no sync engine. Usage: net-gossip-node.ts INDEX BODY_HEX.
 *
 * A message is a 14-byte header (kind u8, publisher u8, seq u32, publish time
 * f64 in monotonic ms) followed by BODY. Kind 1 is a latency probe (each
 * receipt is reported at once), kind 2 a throughput message (receipts are
 * kept and reported on request).
 */
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { type GossipSub, gossipsub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { PUSH_TOPIC } from '../../core/sync/types.ts'
import { gossipOptions } from '../../node/gossip-config.ts'

export type GossipCommand =
  | { cmd: 'dial', addrs: string[] }
  | { cmd: 'mesh' }
  | { cmd: 'one', seq: number }
  /** Publish until `untilMs`, message n only once this node has n − `ahead` from each of the other `peers` − 1 nodes. */
  | { cmd: 'flood', fromMs: number, untilMs: number, ahead: number, peers: number }
  | { cmd: 'count' }
  | { cmd: 'report' }

export type GossipEvent =
  | { type: 'ready', addr: string }
  | { type: 'dialed' }
  | { type: 'mesh', peers: number }
  | { type: 'published', seq: number }
  | { type: 'probe', from: number, seq: number, latencyMs: number }
  | { type: 'flooded', published: number, publishedInWindow: number, failed: number }
  /** Throughput messages received here, by publisher index. */
  | { type: 'count', received: number[] }
  /** Per publisher: the seqs of its throughput messages received here, when (monotonic ms), and how long after their publish. */
  | { type: 'report', received: Array<{ from: number, seqs: number[], atMs: number[], latencyMs: number[] }> }

const HEADER = 14
const now = (): number => Number(process.hrtime.bigint()) / 1e6
const send = (e: GossipEvent): void => { process.send?.(e) }

const index = Number(process.argv[2])
const body = Buffer.from(process.argv[3] ?? '', 'hex')
const node = await createLibp2p({
  addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
  transports: [tcp()],
  connectionEncrypters: [noise()],
  streamMuxers: [yamux()],
  services: { identify: identify(), pubsub: gossipsub(gossipOptions()) }
})
const pubsub = node.services.pubsub as GossipSub & { getMeshPeers: (topic: string) => string[] }
const received = new Map<number, { seqs: number[], atMs: number[], latencyMs: number[] }>()
let receivedCount: number[] = []

pubsub.addEventListener('message', evt => {
  const data = evt.detail.data
  const at = now()
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength)
  const kind = view.getUint8(0); const from = view.getUint8(1); const seq = view.getUint32(2)
  if (kind === 1) {
    send({ type: 'probe', from, seq, latencyMs: at - view.getFloat64(6) })
  } else {
    let r = received.get(from)
    if (r === undefined) received.set(from, r = { seqs: [], atMs: [], latencyMs: [] })
    r.seqs.push(seq)
    r.atMs.push(at)
    r.latencyMs.push(at - view.getFloat64(6))
    receivedCount[from] = (receivedCount[from] ?? 0) + 1
    const wake = arrived
    arrived = () => {}
    wake()
  }
})
pubsub.subscribe(PUSH_TOPIC)

function message (kind: number, seq: number): Uint8Array {
  const m = new Uint8Array(HEADER + body.length)
  const view = new DataView(m.buffer)
  view.setUint8(0, kind); view.setUint8(1, index); view.setUint32(2, seq)
  m.set(body, HEADER)
  view.setFloat64(6, now()) // last: as close to the publish as it can be
  return m
}

/** Concurrent publishes: publish() signs asynchronously, so a few at once keep the node busy. */
const LANES = 8
/** Wakes lanes waiting for messages from the others. */
let arrived: () => void = () => {}

/**
 * Publishes throughput messages until the monotonic clock passes `untilMs`. publish() resolves once
 * the message is queued to the peers, not when it arrives, so unchecked the queues grow without
 * bound and only the publish rate, not the delivery rate, is measured. Every node publishes alike,
 * so what this node has received of the others' messages stands for what the others have of its
 * own: it stays at most `ahead` messages in front of the slowest of them. (Asking the bench instead
 * is too slow: a node busy with a backlog answers IPC only after working through all of it.)
 */
async function flood (fromMs: number, untilMs: number, ahead: number, peers: number): Promise<GossipEvent> {
  await new Promise(resolve => setTimeout(resolve, Math.max(0, fromMs - now())))
  const others = Array.from({ length: peers }, (_, i) => i).filter(i => i !== index)
  const slowest = (): number => Math.min(...others.map(i => receivedCount[i] ?? 0))
  let seq = 0; let published = 0; let publishedInWindow = 0; let failed = 0
  const lane = async (): Promise<void> => {
    while (now() < untilMs) {
      if (seq - slowest() >= ahead) {
        await new Promise<void>(resolve => { const prev = arrived; arrived = () => { prev(); resolve() }; setTimeout(resolve, 20) })
        continue
      }
  try {
        await pubsub.publish(PUSH_TOPIC, message(2, seq++))
        published++
        if (now() <= untilMs) publishedInWindow++
      } catch {
        failed++
      }
    }
  }
  await Promise.all(Array.from({ length: LANES }, lane))
  return { type: 'flooded', published, publishedInWindow, failed }
}

process.on('message', (c: GossipCommand) => {
  void (async () => {
    switch (c.cmd) {
      case 'dial':
        await Promise.all(c.addrs.map(async a => await node.dial(multiaddr(a))))
        send({ type: 'dialed' })
        break
      case 'mesh': send({ type: 'mesh', peers: pubsub.getMeshPeers(PUSH_TOPIC).length }); break
      case 'one':
        await pubsub.publish(PUSH_TOPIC, message(1, c.seq))
        send({ type: 'published', seq: c.seq })
        break
      case 'flood': send(await flood(c.fromMs, c.untilMs, c.ahead, c.peers)); break
      case 'count': send({ type: 'count', received: receivedCount }); break
      case 'report':
        send({ type: 'report', received: [...received].map(([from, r]) => ({ from, ...r })) })
        received.clear()
        receivedCount = []
        break
    }
  })().catch(err => { console.error(err); process.exit(1) })
})

const stop = (): void => { void Promise.resolve(node.stop()).finally(() => process.exit(0)) }
process.once('SIGTERM', stop)
process.once('SIGINT', stop)
process.once('disconnect', stop) // the bench went away: do not outlive it
send({ type: 'ready', addr: node.getMultiaddrs()[0].toString() })
