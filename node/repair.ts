/**
 * `monoidb repair --data DIR`: the way back for a store the daemon refuses to
 * open as it was (CURRENT or MANIFEST gone, corrupt tables, a missing meta
 * record). Runs LevelDB's repair on DIR/store, which rebuilds the database
 * from the tables and logs it finds, then marks the store so that its next
 * start takes a new replica id: the repair may have lost its newest writes,
 * whose dots must never be reused (core/store-meta.ts). Prints how many keys
 * it recovered. Exit 0 when repaired, 1 on an error, 2 on bad usage.
 */
import { readdir } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { recordRange } from '../core/key-layout.ts'
import { LevelStorage, StoreInUseError } from '../core/level-storage.ts'
import { markRepaired } from '../core/store-meta.ts'
import { takePidLock } from './pid-lock.ts'

export const REPAIR_USAGE = `usage: monoidb repair [--data DIR]

Repairs the store in DIR/store (default DIR ./.monoidb) with LevelDB's repair,
for a store the daemon refuses to start ("cannot be opened as it was"). Stop
the daemon first: a folder in use is refused. Prints how many keys it
recovered; writes lost with the damage come back from peers that hold them.
The next start takes a new replica id, so no dot of a lost write is reused.
Exit status: 0 repaired, 1 an error (one line on stderr), 2 bad usage.`

interface Repaired { keys: number, previous: string | undefined }

/** Repairs the LevelDB store at `path` (which must not be open anywhere) and returns what it holds after. */
export async function repairStore (path: string): Promise<Repaired> {
  // A folder someone has open must not be repaired under them: opening it is how LevelDB's lock is tested.
  try {
    await (await LevelStorage.open(path, { createIfMissing: false })).close()
  } catch (err) {
    if (err instanceof StoreInUseError) throw err
    // Damaged: that is what the repair is for.
  }
  await LevelStorage.repair(path)
  const storage = await LevelStorage.open(path, { createIfMissing: false, sync: true })
  try {
    const previous = await markRepaired(storage)
    let keys = 0
    for await (const _ of storage.iterator(recordRange(new Uint8Array()))) keys++
    return { keys, previous }
  } finally {
    await storage.close()
  }
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
