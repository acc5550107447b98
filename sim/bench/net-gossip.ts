/**
 * bench:net's baseline: five plain gossipsub nodes (net-gossip-node.ts), each
 * its own process like the daemons, in a full mesh on 127.0.0.1, publishing
 * the same payloads the daemons push. The same two figures: latency of one
 * message published at a time (publisher rotating), and messages a second
 * with all five publishing at once.
 */
import { fileURLToPath } from 'node:url'
import type { GossipCommand, GossipEvent } from './net-gossip-node.ts'
import { type Child, cpuSeconds, nowMs, ownCpuSeconds, sleep, spawnChild, stopChild, until } from './net-procs.ts'
import type { LatencyResult } from './net-daemon-phases.ts'

const NODE = fileURLToPath(new URL('./net-gossip-node.ts', import.meta.url))

export interface GossipNode {
  index: number
  child: Child
  addr: string
  /** Resolves with the next event of `type` this node sends. */
  next: <T extends GossipEvent['type']>(type: T) => Promise<Extract<GossipEvent, { type: T }>>
  send: (c: GossipCommand) => void
  /** Called on every latency probe this node receives. */
  onProbe: (e: Extract<GossipEvent, { type: 'probe' }>) => void
}

/** `nodeArgs`: Node flags for each node's process (bench:net passes --cpu-prof through). */
export async function startGossipNodes (n: number, body: Uint8Array, nodeArgs?: string[]): Promise<GossipNode[]> {
  const nodes = await Promise.all(Array.from({ length: n }, async (_, index) => {
    const child = spawnChild(NODE, [String(index), Buffer.from(body).toString('hex')], { nodeArgs, stdio: ['ignore', 'pipe', 'pipe', 'ipc'], serialization: 'advanced' })
    const waiting = new Map<string, Array<(e: GossipEvent) => void>>()
    const node: GossipNode = {
      index,
      child,
      addr: '',
      next: async type => await new Promise(resolve => { waiting.set(type, [...waiting.get(type) ?? [], resolve as (e: GossipEvent) => void]) }),
      send: c => { child.proc.send(c) },
      onProbe: () => {}
    }
    child.proc.on('message', (e: GossipEvent) => {
      if (e.type === 'probe') { node.onProbe(e); return }
      const q = waiting.get(e.type)
      q?.shift()?.(e)
    })
    const exited = child.exited.then(code => { throw new Error(`gossip node ${index} exited ${code}: ${child.output()}`) })
    node.addr = (await Promise.race([node.next('ready'), exited])).addr
    return node
  }))
  // Full mesh: node k dials nodes 0..k-1.
  await Promise.all(nodes.map(async (node, k) => {
    if (k === 0) return
    const dialed = node.next('dialed')
    node.send({ cmd: 'dial', addrs: nodes.slice(0, k).map(x => x.addr) })
    await dialed
  }))
  await until('every gossip node to have the others in its mesh', async () => {
    const counts = await Promise.all(nodes.map(async x => { const p = x.next('mesh'); x.send({ cmd: 'mesh' }); return (await p).peers }))
    return counts.every(c => c === n - 1)
  }, 15_000)
  return nodes
}

export async function stopGossipNodes (nodes: readonly GossipNode[]): Promise<void> {
  await Promise.all(nodes.map(async x => { await stopChild(x.child) }))
}

/** `messages` probes published one at a time, the publisher rotating; each waits for all the others to receive it. */
export async function gossipLatency (nodes: readonly GossipNode[], messages: number, warmup = 20, timeoutMs = 5_000): Promise<LatencyResult> {
  const result: LatencyResult = { perReceiver: [], allReceivers: [], lost: 0 }
  const got = new Map<number, number[]>() // seq → latencies so far
  let changed: () => void = () => {}
  for (const x of nodes) x.onProbe = e => { got.set(e.seq, [...got.get(e.seq) ?? [], e.latencyMs]); changed() }
  for (let seq = 0; seq < warmup + messages; seq++) {
    const publisher = nodes[seq % nodes.length]
    const published = publisher.next('published')
    publisher.send({ cmd: 'one', seq })
    const deadline = nowMs() + timeoutMs
    while ((got.get(seq)?.length ?? 0) < nodes.length - 1 && nowMs() < deadline) {
      await new Promise<void>(resolve => { changed = resolve; setTimeout(resolve, 50) })
    }
    await published
    if (seq < warmup) continue
    const lat = got.get(seq) ?? []
    if (lat.length < nodes.length - 1) { result.lost++; continue }
    result.perReceiver.push(...lat)
    result.allReceivers.push(Math.max(...lat))
  }
  return result
}

export interface GossipThroughput {
  seconds: number
  published: number
  deliveredInWindow: number
  drainMs: number | undefined
  failed: number
  /** Publish → receive, one per message and receiver, under this load. */
  latencyMs: number[]
  cpu: { nodes: number, bench: number }
}

/** All nodes publish for `seconds`, each at most `ahead` messages in front of what it has received from the slowest other (net-gossip-node.ts). */
export async function gossipThroughput (nodes: readonly GossipNode[], seconds: number, ahead: number, drainLimitMs = 20_000): Promise<GossipThroughput> {
  const cpuOf = async (): Promise<number> => (await Promise.all(nodes.map(async x => await cpuSeconds(x.child.proc.pid)))).reduce((a, b) => a + b, 0)
  const counts = async (): Promise<number[][]> => await Promise.all(nodes.map(async x => { const p = x.next('count'); x.send({ cmd: 'count' }); return (await p).received }))
  const fromMs = nowMs() + 200 // every node starts on the same tick of the shared monotonic clock
  const untilMs = fromMs + seconds * 1000
  const flooded = nodes.map(x => x.next('flooded'))
  for (const x of nodes) x.send({ cmd: 'flood', fromMs, untilMs, ahead, peers: nodes.length })
  await sleep(fromMs - nowMs())
  const cpuBefore = await cpuOf(); const benchBefore = ownCpuSeconds()
  await sleep(untilMs - nowMs())
  const cpu = { nodes: await cpuOf() - cpuBefore, bench: ownCpuSeconds() - benchBefore }
  const done = await Promise.all(flooded)
  const total = done.reduce((s, f) => s + f.published, 0)
  // Wait until every published message is at every other node, or the count stops growing.
  let last = -1; let lastChange = nowMs()
  await until('gossip deliveries to stop', async () => {
    const c = (await counts()).flat().reduce((a, b) => a + (b ?? 0), 0)
    if (c !== last) { last = c; lastChange = nowMs() }
    return c >= total * (nodes.length - 1) || nowMs() - lastChange > 1_000 || nowMs() - untilMs > drainLimitMs
  }, drainLimitMs + 5_000)
  const reports = await Promise.all(nodes.map(async x => { const p = x.next('report'); x.send({ cmd: 'report' }); return (await p).received }))

  // When each message had reached every other node: the latest of its receipts.
  let deliveredInWindow = 0; let lastArrival = -Infinity; let undelivered = 0
  const latencyMs: number[] = []
  for (const [p, f] of done.entries()) {
    const allAt = new Float64Array(f.published + f.failed).fill(-Infinity)
    const receipts = new Uint8Array(allAt.length)
    for (const [j, rep] of reports.entries()) {
      if (j === p) continue
      const r = rep.find(x => x.from === p)
      if (r === undefined) continue
      for (let i = 0; i < r.seqs.length; i++) {
        const s = r.seqs[i]
        receipts[s]++
        if (r.atMs[i] > allAt[s]) allAt[s] = r.atMs[i]
        latencyMs.push(r.latencyMs[i])
      }
    }
    for (let s = 0; s < allAt.length; s++) {
      if (receipts[s] < nodes.length - 1) { undelivered++; continue }
      if (allAt[s] <= untilMs) deliveredInWindow++
      if (allAt[s] > lastArrival) lastArrival = allAt[s]
    }
  }
  return {
    seconds,
    published: done.reduce((s, f) => s + f.publishedInWindow, 0),
    deliveredInWindow,
    drainMs: undelivered > done.reduce((s, f) => s + f.failed, 0) ? undefined : Math.max(0, lastArrival - untilMs),
    failed: done.reduce((s, f) => s + f.failed, 0),
    latencyMs,
    cpu
  }
}
