/**
 * Where the throughput of bench:net (b) goes: the same write load (a) on one
 * daemon with no peers (the HTTP write path alone), and (b) on five peers
 * embedded in this process (createNode: the store, the engine and libp2p, no
 * HTTP, no process switching), every peer keeping every key. Each runs for
 * the same window; (b) then checks that every node holds every write.
 */
import { join } from 'node:path'
import { createNode, type MonoidbNode } from '../../node/node.ts'
import { increment, startDaemons, stopDaemons } from './net-daemons.ts'
import { tempFolder } from './net-procs.ts'

export interface LoadOptions { seconds: number, concurrency: number, keysPerWriter: number }

/** `concurrency` loops per writer, each writing its writer's keys in turn until the window ends; returns the writes done. */
async function load (writers: number, o: LoadOptions, write: (writer: number, key: string) => Promise<void>): Promise<number> {
  let done = 0
  const end = performance.now() + o.seconds * 1000
  await Promise.all(Array.from({ length: writers * o.concurrency }, async (_, i) => {
    const writer = i % writers
    for (let n = i; performance.now() < end; n += o.concurrency) {
      await write(writer, `bench/breakdown/${writer}/${n % o.keysPerWriter}`)
      done++
    }
  }))
  return done
}

/** Updates/s of one daemon with no peers, under the same HTTP load as one writer of bench:net (b). */
export async function singleDaemonRate (o: LoadOptions): Promise<number> {
  const [d] = await startDaemons(1)
  try {
    return await load(1, o, async (_, key) => { await increment(d, key) }) / o.seconds
  } finally {
    await stopDaemons([d])
  }
}

/** Updates/s written on five embedded replicate-all peers, and whether every peer then held every write within `drainMs`. */
export async function embeddedRate (peers: number, o: LoadOptions, drainMs = 20_000): Promise<{ rate: number, allDelivered: boolean }> {
  const root = await tempFolder('embedded')
  const nodes: MonoidbNode[] = []
  try {
    for (let i = 0; i < peers; i++) {
      nodes.push(await createNode({ dataDir: join(root, `n${i}`), replicateAll: true, bootstrap: nodes.flatMap(n => n.multiaddrs()) }))
    }
    const deadline = Date.now() + 15_000
    while (!nodes.every(n => n.peers().filter(p => p.subscribed).length === peers - 1)) {
      if (Date.now() > deadline) throw new Error('embedded peers did not connect within 15 s')
      await new Promise(resolve => setTimeout(resolve, 50))
    }
    const written = new Map<string, number>()
    const done = await load(peers, o, async (writer, key) => {
      await nodes[writer].update(key, 'g-counter', 'inc', [1])
      written.set(key, (written.get(key) ?? 0) + 1)
    })
    const everywhere = async (): Promise<boolean> => {
      for (const n of nodes) for (const [key, count] of written) if ((await n.get(key))?.value !== count) return false
      return true
    }
    const end = Date.now() + drainMs
    let allDelivered = await everywhere()
    while (!allDelivered && Date.now() < end) {
      await new Promise(resolve => setTimeout(resolve, 100))
      allDelivered = await everywhere()
    }
    return { rate: done / o.seconds, allDelivered }
  } finally {
    await Promise.allSettled(nodes.map(async n => { await n.stop() }))
  }
}
