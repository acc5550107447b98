/**
 * The sync journal's cost (issue 10 §4: under 5%), for bench:core and
 * bench:net. bench:core: pushes received by a real SyncEngine over a
 * MemoryStorage store (decode, dedupe, validate, merge, commit: the path
 * every received delta takes), with the journal on and with a journal whose
 * record does nothing, alternated and the medians compared. bench:net runs
 * its daemons again with journal-off.ts preloaded (`--import`), which does
 * the same inside the daemon process.
 */
import { ReplicaStore } from '../../core/replica-store.ts'
import { MemoryStorage } from '../../core/storage.ts'
import { SyncEngine } from '../../core/sync/engine.ts'
import { Journal, type JournalEntry, type JournalRecord } from '../../core/sync/journal.ts'
import { type DeltaItem, encodeMessage } from '../../core/sync/messages.ts'
import { createRegistry } from '../../contracts/index.ts'

/** A journal that records nothing: the baseline. */
export class NoJournal extends Journal {
  override record (entry: JournalEntry, at: number): JournalRecord {
    return { ...entry, n: 0, at } as JournalRecord
  }
}

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
async function ingest (msgs: readonly Uint8Array[], journal: Journal): Promise<number> {
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

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

/** Engine ingest with the journal on and off, `rounds` times each, alternated: the medians and on/off. */
export async function engineJournalOverhead (messages = 300, rounds = 9): Promise<{ on: number, off: number, ratio: number, records: number }> {
  const msgs = pushes(messages)
  await ingest(msgs.slice(0, 20), new Journal()) // warm-up
  const on: number[] = []
  const off: number[] = []
  let records = 0
  for (let r = 0; r < rounds; r++) {
    const j = new Journal()
    on.push(await ingest(msgs, j))
    records = j.last
    off.push(await ingest(msgs, new NoJournal()))
  }
  return { on: median(on), off: median(off), ratio: median(on) / median(off), records }
}
