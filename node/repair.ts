/**
 * `monoidb repair --data DIR`: the way back for a store the daemon refuses to
 * open as it was (CURRENT or MANIFEST gone, corrupt tables, a missing meta
 * record). Runs LevelDB's repair on DIR/store, which rebuilds the database
 * from the tables and logs it finds, then marks the store so that its next
 * start takes a new replica id: the repair may have lost its newest writes,
 * whose dots must never be reused (core/store-meta.ts). Prints how many keys
 * it recovered. Exit 0 when repaired, 1 on an error, 2 on bad usage.
 *
 * It refuses a folder that is not a monoidb store (no LevelDB file in it, or
 * another program's LevelDB), and leaves a marker while it works, so that a
 * repair cut short is not taken for a finished one (see repairMarker).
 */
import { access, open, readdir, unlink } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { recordRange } from '../core/key-layout.ts'
import { LevelStorage, StoreInUseError } from '../core/level-storage.ts'
import { markRepaired, notAStore, readMeta } from '../core/store-meta.ts'
import { DamagedStoreError } from '../core/storage.ts'
import { takePidLock } from './pid-lock.ts'

export const REPAIR_USAGE = `usage: monoidb repair [--data DIR]

Repairs the store in DIR/store (default DIR ./.monoidb) with LevelDB's repair,
for a store the daemon refuses to start ("cannot be opened as it was", "is
corrupt"). Stop the daemon first: a folder in use is refused, and so is one
that is not a monoidb store. Prints how many keys it recovered; writes lost
with the damage come back from peers that hold them. The next start takes a
new replica id, so no dot of a lost write is reused. A repair cut short leaves
DIR/store.repairing, and the daemon refuses to start until it is run again.
Exit status: 0 repaired, 1 an error (one line on stderr), 2 bad usage.`

interface Repaired { keys: number, previous: string | undefined }

// The files LevelDB writes that hold or describe data (its info log and lock do not).
const LEVELDB_FILE = /^(CURRENT|MANIFEST-\d+|\d+\.(ldb|sst|log))$/

/**
 * The file that says a repair of the store at `path` began and has not finished: LevelDB's repair may
 * drop the newest writes, and until the meta record is marked (markRepaired) the next start would keep
 * the old replica id. While it exists, a start is refused (node.ts) and the repair must be run again.
 */
export function repairMarker (path: string): string {
  return `${path}.repairing`
}

/** Repairs the LevelDB store at `path` (which must not be open anywhere) and returns what it holds after. */
export async function repairStore (path: string): Promise<Repaired> {
  const marker = repairMarker(path)
  const resumed = await access(marker).then(() => true, () => false)
  const files = await readdir(path).catch(() => [] as string[])
  if (!resumed && !files.some(f => LEVELDB_FILE.test(f))) {
    throw new Error(`${path} holds no LevelDB database (no CURRENT, MANIFEST, table or log file): not a monoidb store, not repairing it`)
  }
  // A folder someone has open must not be repaired under them: opening it is how LevelDB's lock is tested.
  // A folder that opens is checked before anything is written: another program's data is not repaired into a store.
  let healthy: LevelStorage | undefined
  try {
    healthy = await LevelStorage.open(path, { createIfMissing: false })
  } catch (err) {
    if (err instanceof StoreInUseError) throw err
    // Damaged: that is what the repair is for.
  }
  if (healthy !== undefined) {
    let refusal: unknown
    try {
      const why = await notAStore(healthy)
      if (why !== undefined) refusal = new Error(`${path} is not a monoidb store: ${why}; not repairing it`)
      else await readMeta(healthy)
    } catch (err) {
      // A damaged table or meta record is what the repair is for; a newer version's store is not.
      if (!(err instanceof DamagedStoreError)) refusal = err
    } finally {
      await healthy.close()
    }
    if (refusal !== undefined) throw refusal
  }
  await writeMarker(marker)
  await LevelStorage.repair(path)
  const storage = await LevelStorage.open(path, { createIfMissing: false, sync: true })
  let done: Repaired
  try {
    const why = await notAStore(storage)
    if (why !== undefined) {
      await unlink(marker)
      throw new Error(`${path} is not a monoidb store: ${why}; LevelDB's repair ran, no meta record was written`)
    }
    const previous = await markRepaired(storage)
    let keys = 0
    for await (const _ of storage.iterator(recordRange(new Uint8Array()))) keys++
    done = { keys, previous }
  } finally {
    await storage.close()
  }
  await unlink(marker)
  return done
}

/** Creates the marker durably: it must be on disk before LevelDB's repair changes anything. */
async function writeMarker (marker: string): Promise<void> {
  const file = await open(marker, 'w', 0o600)
  try {
    await file.writeFile('a repair of this store began and has not finished: run `monoidb repair` again\n')
    await file.sync()
  } finally {
    await file.close()
  }
  const dir = await open(dirname(marker), 'r')
  try { await dir.sync() } finally { await dir.close() }
}

/** Runs `monoidb repair` with the arguments after the command word; returns the exit code. */
export async function runRepair (argv: readonly string[]): Promise<number> {
  let values
  try {
    ({ values } = parseArgs({ args: [...argv], strict: true, allowPositionals: false, options: { data: { type: 'string' }, help: { type: 'boolean', short: 'h', default: false } } }))
  } catch (err) {
    console.error(`monoidb: ${(err as Error).message}\n\n${REPAIR_USAGE}`)
    return 2
  }
  if (values.help) { console.log(REPAIR_USAGE); return 0 }
  if (values.data === '') { console.error(`monoidb: --data needs a folder path\n\n${REPAIR_USAGE}`); return 2 }
  const dir = resolve(values.data ?? './.monoidb')
  const path = join(dir, 'store')
  const files = await readdir(path).catch(() => [])
  if (files.length === 0) {
    console.error(`monoidb: repair: no store to repair in ${path} (no files there)`)
    return 1
  }
  let lock
  try {
    lock = await takePidLock(dir)
  } catch (err) {
    console.error(`monoidb: repair: ${(err as Error).message}`)
    return 1
  }
  try {
    const { keys, previous } = await repairStore(path)
    const was = previous === undefined ? 'its replica id was lost with the damage' : `it was replica ${previous}`
    console.log(`monoidb repair: recovered ${keys} key${keys === 1 ? '' : 's'} in ${path}; the next start takes a new replica id (${was})`)
    return 0
  } catch (err) {
    console.error(`monoidb: repair: ${(err as Error).message.replace(/\s*\n\s*/g, ' ')}`)
    return 1
  } finally {
    await lock.release()
  }
}
