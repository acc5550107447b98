/**
 * A hostile peer, run as a child process: a libp2p node built on the same
 * libraries as node/libp2p-host.ts (TCP, noise, yamux, identify, gossipsub),
 * with its own peer id, that dials honest daemons and floods them.
 *
 *   node test/helpers/hostile-peer.ts --target MULTIADDR [--target …]
 *        [--mode MODE[,MODE…] --rate N --seconds S] [--keys K1,K2…]
 *
 * With --mode it floods those modes (N messages a second each, for S seconds)
 * and exits. Without, it reads commands on stdin, one JSON line each:
 * `{"mode","count"?,"rate"?,"seconds"?,"keys"?,"to"?}` (send `count` at once,
 * or `rate` a second for `seconds`; stream frames only to the targets in `to`,
 * default all), and `{"quit":true}`.
 *
 * Modes (test/helpers/hostile-messages.ts): gossip — garbage, gossip-digests,
 * wants, heavy-push, forged, wrong-topic (and any registered forger); stream —
 * oversize-frame, bad-prefix, garbage-frame, truncated-frame, digests, ranges,
 * sums, heavy-deltas. With env MONOIDB_HOSTILE_OWNED (owned-forgeries.ts's
 * targetToString), the owned-key forgeries too: owned-nonwriter,
 * owned-replay-altered, owned-claim-owner, owned-mixed (gossip), owned-deltas (stream).
 *
 * It prints JSON lines: {"ready":true,"peerId"}; {"done":MODE,"sent":N,…} after
 * each command, with the stream outcomes seen so far (`streamsReset`: streams
 * the target reset after we wrote; `streamsRefused`: streams reset before a
 * write could go; `dialsRefused`: new connections refused; `connected`: targets
 * connected now); {"error"} on failure.
 */
import { createInterface } from 'node:readline'
import { parseArgs } from 'node:util'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { gossipsub } from '@libp2p/gossipsub'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { identify } from '@libp2p/identify'
import type { PeerId, Stream } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { tcp } from '@libp2p/tcp'
import { type Multiaddr, multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { parsePeerAddress } from '../../node/peer-address.ts'
import { SYNC_PROTOCOL } from '../../node/sync-streams.ts'
import { type Frame, SYNC_GOSSIP_TOPICS, framesFor, gossipFor } from './hostile-messages.ts'
import { registerOwnedForgers, targetFromString } from './owned-forgeries.ts'

const { values } = parseArgs({
  options: {
    target: { type: 'string', multiple: true },
    mode: { type: 'string' },
    rate: { type: 'string', default: '100' },
    seconds: { type: 'string', default: '5' },
    keys: { type: 'string', default: '' }
  }
})
// An owned key to forge changes of (owned-forgeries.ts): its modes are registered, signed by a key of our own.
const owned = process.env.MONOIDB_HOSTILE_OWNED
const forgerKey = owned === undefined ? undefined : registerOwnedForgers(targetFromString(owned))
const targets: Multiaddr[] = (values.target ?? []).map(t => multiaddr(t))
const idOf = (t: Multiaddr): string => parsePeerAddress(t.toString()).peerId.toString()
const say = (x: unknown): void => { process.stdout.write(JSON.stringify(x) + '\n') }

// The forger takes a peer id below its targets' (a few tries): a peer with a session in flight ignores a new one
// from a peer of a greater id (the tie-break, core/sync/engine.ts), and an attacker picks the id that wins it.
let privateKey = await generateKeyPair('Ed25519')
while (owned !== undefined && !targets.every(t => peerIdFromPrivateKey(privateKey).toString() < idOf(t))) privateKey = await generateKeyPair('Ed25519')
const node = await createLibp2p({
  privateKey,
  addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
  transports: [tcp()],
  connectionEncrypters: [noise()],
  streamMuxers: [yamux()],
  services: { identify: identify(), pubsub: gossipsub({ allowPublishToZeroTopicPeers: true, emitSelf: false }) }
})
// Whatever the targets send us on their streams is read and dropped.
await node.handle(SYNC_PROTOCOL, stream => { stream.addEventListener('message', () => {}) }, { maxInboundStreams: 64 })
for (const t of SYNC_GOSSIP_TOPICS) node.services.pubsub.subscribe(t)

const outcome = { streamsReset: 0, streamsRefused: 0, dialsRefused: 0 }
const connected = (): number => targets.filter(t => node.getConnections().some(c => c.status === 'open' && c.remotePeer.toString() === idOf(t))).length

async function dialAll (): Promise<void> {
  await Promise.all(targets.map(async t => {
    try {
      await node.dial(t, { signal: AbortSignal.timeout(5_000) })
    } catch {
      outcome.dialsRefused++
    }
  }))
}

/** Streams open to each target (reopened after a reset). */
const streams = new Map<string, Stream>()

async function streamTo (t: Multiaddr): Promise<Stream | undefined> {
  const open = streams.get(t.toString())
  if (open !== undefined && open.status === 'open' && open.writeStatus === 'writable') return open
  streams.delete(t.toString())
  try {
    const s = await node.dialProtocol(t, SYNC_PROTOCOL, { signal: AbortSignal.timeout(5_000) })
    streams.set(t.toString(), s)
    return s
  } catch {
    // No connection (hung up on us) or the dial refused: either way the target will not take it.
    if (node.getConnections(peerOf(t)).length === 0) outcome.dialsRefused++
    else outcome.streamsRefused++
    return undefined
  }
}
const peerOf = (t: Multiaddr): PeerId => parsePeerAddress(t.toString()).peerId

/** Writes one frame to each target; a stream the target resets is counted and dropped. `bad`: wait (up to 2 s) for the target to reset it. */
async function writeFrame (frame: Frame, bad: boolean, to: readonly Multiaddr[]): Promise<void> {
  await Promise.all(to.map(async t => {
    const s = await streamTo(t)
    if (s === undefined) return
    try {
      const bytes = new Uint8Array(frame.prefix.length + frame.body.length)
      bytes.set(frame.prefix)
      bytes.set(frame.body, frame.prefix.length)
      if (!s.send(bytes)) await s.onDrain({ signal: AbortSignal.timeout(5_000) })
      if (frame.end === true) { await s.close(); streams.delete(t.toString()) }
      const end = Date.now() + 2_000
      while (bad && s.status === 'open' && Date.now() < end) await new Promise(resolve => setTimeout(resolve, 10))
    } catch {
      outcome.streamsReset++
      streams.delete(t.toString())
    }
  }))
  // Let the target's reset (if any) arrive before the next frame is written on the same stream.
  await new Promise(resolve => setImmediate(resolve))
  for (const [k, s] of streams) if (s.status !== 'open') { outcome.streamsReset++; streams.delete(k) }
}

async function sendOne (mode: string, keys: readonly string[], i: number, to: readonly Multiaddr[]): Promise<void> {
  const gossip = gossipFor(mode, keys, i)
  if (gossip !== undefined) {
    for (const g of gossip) await node.services.pubsub.publish(g.topic, g.bytes).catch(() => {})
    return
  }
  const frames = framesFor(mode, keys)
  if (frames === undefined) throw new Error(`unknown mode ${JSON.stringify(mode)}`)
  for (const f of frames.frames) await writeFrame(f, frames.bad, to)
}

async function run (cmd: { mode: string, count?: number, rate?: number, seconds?: number, keys?: string[], to?: string[] }): Promise<void> {
  const modes = cmd.mode.split(',')
  // Stream frames go to the targets named (`to`, default all); gossip reaches whoever it reaches.
  const to = cmd.to === undefined ? targets : targets.filter(t => cmd.to!.includes(t.toString()))
  const keys = cmd.keys ?? []
  let sent = 0
  if (connected() < targets.length) await dialAll()
  if (cmd.count !== undefined) {
    for (let i = 0; i < cmd.count; i++) for (const m of modes) { await sendOne(m, keys, i, to); sent++ }
  } else {
    const rate = cmd.rate ?? 100
    const ms = (cmd.seconds ?? 5) * 1000
    const start = Date.now()
    await Promise.all(modes.map(async m => {
      let i = 0
      while (Date.now() - start < ms) {
        const due = Math.floor((Date.now() - start) * rate / 1000)
        while (i < due && Date.now() - start < ms) { await sendOne(m, keys, i++, to); sent++ }
        await new Promise(resolve => setTimeout(resolve, 10))
      }
    }))
  }
  say({ done: cmd.mode, sent, ...outcome, connected: connected() })
}

await dialAll()
say({ ready: true, peerId: node.peerId.toString(), connected: connected(), ...forgerKey === undefined ? {} : { forgerKey } })

if (values.mode !== undefined) {
  const keys = values.keys.length === 0 ? [] : values.keys.split(',')
  await run({ mode: values.mode, rate: Number(values.rate), seconds: Number(values.seconds), keys }).catch(err => { say({ error: (err as Error).message }) })
  await node.stop()
  process.exit(0)
}

const lines = createInterface({ input: process.stdin })
let queue = Promise.resolve()
lines.on('line', line => {
  queue = queue.then(async () => {
    let cmd: { mode?: string, quit?: boolean, count?: number, rate?: number, seconds?: number, keys?: string[] }
    try { cmd = JSON.parse(line) } catch { say({ error: `not JSON: ${line}` }); return }
    if (cmd.quit === true) { await node.stop(); process.exit(0) }
    if (typeof cmd.mode !== 'string') { say({ error: 'a command needs "mode"' }); return }
    await run(cmd as { mode: string }).catch(err => { say({ error: (err as Error).message, mode: cmd.mode }) })
  })
})
lines.on('close', () => { void queue.then(async () => { await node.stop(); process.exit(0) }) })
