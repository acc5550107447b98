// Shared set-up for networked node tests: temp data folders, nodes that are always stopped, and polling.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type MonoidbNode, type NodeOptions, createNode } from '../../node/node.ts'

/** A faster anti-entropy period than the default keeps convergence tests short. */
export const TEST_SYNC = { antiEntropyMs: 300, sessionTimeoutMs: 2_000 }

/** Nodes and folders made by one test file; `cleanup()` (call it in `after`) stops and removes them all. */
export async function nodeFixtures (name: string): Promise<{
  folder: () => string
  start: (options: Partial<NodeOptions> & { dataDir?: string }) => Promise<MonoidbNode>
  cleanup: () => Promise<void>
}> {
  const root = await mkdtemp(join(tmpdir(), `monoidb-${name}-`))
  const nodes: MonoidbNode[] = []
  let n = 0
  return {
    folder: () => join(root, `node${n++}`),
    async start (options) {
      const node = await createNode({ sync: TEST_SYNC, ...options, dataDir: options.dataDir ?? join(root, `node${n++}`) })
      nodes.push(node)
      return node
    },
    async cleanup () {
      await Promise.allSettled(nodes.map(async node => await node.stop()))
      await rm(root, { recursive: true, force: true })
    }
  }
}

/** Polls `cond` every 20 ms until it holds; fails naming `what` after `ms`. */
export async function until (what: string, cond: () => boolean | Promise<boolean>, ms = 5_000): Promise<void> {
  const end = Date.now() + ms
  while (!await cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 20))
  }
}

/** Whether every node holds `value` under `key`. */
export async function allHold (nodes: readonly MonoidbNode[], key: string, value: unknown): Promise<boolean> {
  for (const node of nodes) {
    const view = await node.get(key)
    if (JSON.stringify(view?.value) !== JSON.stringify(value)) return false
  }
  return true
}

/** Whether `node` is connected to `other` and knows it subscribes to the sync topics (so pushes reach it). */
export function hasSubscribedPeer (node: MonoidbNode, other: MonoidbNode): boolean {
  return node.peers().some(p => p.peerId === other.peerId && p.subscribed)
}
