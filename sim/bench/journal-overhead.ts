/**
 * The sync journal's cost (issue 10 §4: under 5%), for bench:core and
 * bench:net. bench:core: pushes received by a real SyncEngine over a
 * MemoryStorage store (decode, dedupe, validate, merge, commit: the path
 * every received delta takes), with the journal on and with none
 * (`SyncOptions.journal: null`), alternated. bench:net runs its daemons again
 * with journal-off.ts preloaded (`--import`), which does the same inside the
 * daemon process.
 */
import { ReplicaStore } from '../../core/replica-store.ts'
import { MemoryStorage } from '../../core/storage.ts'
import { SyncEngine } from '../../core/sync/engine.ts'
import { Journal } from '../../core/sync/journal.ts'
import { type DeltaItem, encodeMessage } from '../../core/sync/messages.ts'
import { createRegistry } from '../../contracts/index.ts'


const PEERS = 50
const KEYS = 1000
const ITEMS = 100

/** Push messages of pn-counter increments from PEERS writers over KEYS keys, ITEMS items each: every delta changes state. */
function pushes (messages: number): Uint8Array[] {
  const counts = new Map<string, number>()
  const out: Uint8Array[] = []
  let n = 0
  for (let m = 0; m < messages; m++) {
    const items: DeltaItem[] = []
    for (let i = 0; i < ITEMS; i++, n++) {
      const key = `k${String(n % KEYS).padStart(4, '0')}`
      const writer = `w${n % PEERS}`
      const c = (counts.get(key + writer) ?? 0) + 1
      counts.set(key + writer, c)
      items.push({ key, contract: { id: 'pn-counter' }, delta: { p: [[writer, c]], n: [] } })
    }
    items.sort((a, b) => a.key < b.key ? -1 : a.key > b.key ? 1 : 0)
    out.push(encodeMessage({ type: 'push', items: dedupe(items) }))
  }
  return out
}

/** One item per key in a message (a push carries one per key). */
function dedupe (items: DeltaItem[]): DeltaItem[] {
  const seen = new Set<string>()
  return items.filter(i => !seen.has(i.key) && seen.add(i.key) !== undefined)
}

/** Deltas merged per CPU second by a fresh engine receiving `msgs`. */
async function ingest (msgs: readonly Uint8Array[], journal: Journal | null): Promise<number> {
  const store = await ReplicaStore.open({ storage: new MemoryStorage(), registry: createRegistry(), replica: 'bench' })
  const engine = await SyncEngine.create(store, { self: 'me', now: 0, journal })
  // CPU time, not wall time: the machine is shared, and what other processes take is not the journal's.
  const t = process.cpuUsage()
  for (let i = 0; i < msgs.length; i++) await engine.receive(`w${i % PEERS}`, msgs[i], i)
  const used = process.cpuUsage(t)
  const ms = (used.user + used.system) / 1000
  const deltas = engine.stats().deltasReceived
  engine.close()
  await store.close()
  return deltas / ms * 1000
}

/**
 * Engine ingest with the journal on and off in `pairs` pairs of runs (order drawn at random in each pair),
 * each run `messages` pushes into a fresh engine: the median of the pairs' on/off ratios, with its
 * quartiles. Pairs cancel the slow drift of a shared machine's load; the median, its bursts.
 */
export async function engineJournalOverhead (messages = 100, pairs = 31): Promise<{ on: number, off: number, ratio: number, q1: number, q3: number, records: number }> {
  const msgs = pushes(messages)
  await ingest(msgs, new Journal()) // warm-up
  await ingest(msgs, null)
  const on: number[] = []
  const off: number[] = []
  const ratios: number[] = []
  let records = 0
  for (let r = 0; r < pairs; r++) {
    const j = new Journal()
    const first = Math.random() < 0.5
    const a = first ? await ingest(msgs, j) : await ingest(msgs, null)
    const b = first ? await ingest(msgs, null) : await ingest(msgs, j)
    const [x, y] = first ? [a, b] : [b, a]
    on.push(x); off.push(y); ratios.push(x / y)
    records = j.last
  }
  const q = (xs: number[], f: number): number => [...xs].sort((m, n) => m - n)[Math.floor((xs.length - 1) * f)]
  return { on: q(on, 0.5), off: q(off, 0.5), ratio: q(ratios, 0.5), q1: q(ratios, 0.25), q3: q(ratios, 0.75), records }
}
