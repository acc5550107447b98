/**
 * The store's meta record: the layout format, this replica's id, and whether
 * the store was closed cleanly. Written on first open and checked on every
 * later one, so a replica never opens data it cannot read, and never reuses
 * a dot.
 *
 * Dots: contracts number a replica's writes from its id and their own state.
 * If the newest records are lost (a torn write-ahead log after a power loss,
 * a repaired folder) while the id survives, the next writes would number
 * themselves like the lost ones, which peers may hold with other content.
 * So every open durably clears the clean-close marker before any write (and
 * checkpoints it out of LevelDB's log, so that even a log torn to nothing
 * cannot take it back), close sets it again, and an open that finds it
 * missing (or a repaired folder) takes a new replica id: a new epoch, one more
 * entry in version vectors.
 *
 * Ids: `base` is the id the store was created with (or pinned to). A new
 * epoch takes a fresh random id, or `base+<12 hex digits>` when the caller
 * pins the id (tests), so a pinned store is still recognised; the simulator
 * names its epochs deterministically (`newReplicaId`).
 *
 * Formats 1 and 2 had no marker, so whether they last closed cleanly cannot
 * be known: their record is read as an unclean close, and the upgrade takes a
 * new replica id (one more version-vector entry, never a reused dot). The
 * record is rewritten in the current format, so an older version refuses the
 * folder from then on.
 *
 * A storage with no meta record is new (or a first start died before writing
 * the record, which is written before anything else) only if it holds no
 * record at all; one with records but no meta record is refused as damaged.
 */
import { randomBytes } from 'node:crypto'
import { decode, encode } from './codec.ts'
import { isReplicaId } from './dots.ts'
import { FORMAT, META_KEY, PAST_STORE_KEYS, READABLE_FORMATS } from './key-layout.ts'
import { DamagedStoreError, type Storage } from './storage.ts'

export interface MetaRecord {
  format: number
  /** The id in use: how this replica's writes are named. */
  replica: string
  /** The id the store was created with; a pinned `replica` option must match it. */
  base: string
  /** Set by a clean close, cleared (durably) by every open before any write. */
  clean: boolean
  /** Set by a repair: the next open takes a new id and says why. */
  repaired?: true
}

export interface OpenedMeta {
  replica: string
  base: string
  /** Set when this open took a new id: the one it replaced, and why. */
  replaced?: Replaced
}

/**
 * Why an open took a new id: the last stop was not clean, the store was repaired, or it was upgraded
 * from a format that recorded no clean close (so it cannot be known to have closed cleanly).
 */
export interface Replaced { replica: string, reason: 'unclean' | 'repaired' | 'upgraded' }

export interface OpenMetaOptions {
  /**
   * Makes a new epoch's id from the base id (default: random, see above). It must never return an id
   * this store used before; the simulator passes a deterministic one so that runs replay.
   */
  newReplicaId?: (base: string) => string
}

const MAX_PINNED = 128

function where (storage: Storage): string {
  const path = (storage as { path?: unknown }).path
  return typeof path === 'string' ? `store folder ${path}` : 'this storage'
}

function freshId (pinned: string | undefined): string {
  return pinned === undefined ? randomBytes(12).toString('hex') : `${pinned}+${randomBytes(6).toString('hex')}`
}

async function write (storage: Storage, meta: MetaRecord): Promise<void> {
  // Durable whatever the storage's durability: the marker must never be lost while later writes survive.
  await storage.batch([{ type: 'put', key: META_KEY, value: encode({ ...meta }) }], { sync: true })
}

/**
 * The stored meta record, undefined if there is none; DamagedStoreError if it is
 * unreadable, plain Error if it is of a format this version does not read.
 */
export async function readMeta (storage: Storage): Promise<MetaRecord | undefined> {
  const bytes = await storage.get(META_KEY)
  if (bytes === undefined) return undefined
  let meta: { format?: unknown, replica?: unknown, base?: unknown, clean?: unknown, repaired?: unknown }
  try {
    meta = decode(bytes) as typeof meta
  } catch (err) {
    throw new DamagedStoreError(`${where(storage)} has an unreadable store meta record (${(err as Error).message})`, { cause: err })
  }
  if (meta === null || typeof meta !== 'object' || !isReplicaId(meta.replica)) {
    throw new DamagedStoreError(`${where(storage)} has no valid store meta record (${JSON.stringify(meta)}): wrong or damaged data folder`)
  }
  if (typeof meta.format !== 'number' || !READABLE_FORMATS.includes(meta.format)) {
    const formats = READABLE_FORMATS.slice(0, -1).join(', ') + ' and ' + READABLE_FORMATS[READABLE_FORMATS.length - 1]
    throw new Error(`${where(storage)} is in store format ${JSON.stringify(meta.format)}; this version reads formats ${formats} only`)
  }
  // Formats 1 and 2 recorded no clean close: it cannot be known, so it is taken as unclean (see above).
  if (meta.format < 3) return { format: meta.format, replica: meta.replica, base: meta.replica, clean: false }
  if (!isReplicaId(meta.base) || typeof meta.clean !== 'boolean' || (meta.repaired !== undefined && meta.repaired !== true)) {
    throw new DamagedStoreError(`${where(storage)} has no valid store meta record (${JSON.stringify(meta)}): wrong or damaged data folder`)
  }
  return { format: meta.format, replica: meta.replica, base: meta.base, clean: meta.clean, ...(meta.repaired === true ? { repaired: true as const } : {}) }
}

/**
 * Opens the store's meta record: creates it on an empty storage (with `wanted` or a random id), keeps the id
 * after a clean close, takes a new one otherwise; in every case clears the clean-close marker durably
 * (and checkpoints the storage) before returning, so before any write.
 */
export async function openMeta (storage: Storage, wanted: string | undefined, options: OpenMetaOptions = {}): Promise<OpenedMeta> {
  if (wanted !== undefined && (!isReplicaId(wanted) || wanted.length > MAX_PINNED)) {
    throw new TypeError(`replica id ${JSON.stringify(wanted)} must be 1..${MAX_PINNED} of [A-Za-z0-9._:+/=-]`)
  }
  const meta = await readMeta(storage)
  let opened: OpenedMeta
  if (meta === undefined) {
    // No meta record: a new storage, or a first start that died before writing it. With no records at all
    // there is nothing to lose (the record is written before any other), so it is initialised; records
    // without it are a store that lost the record naming its replica.
    if (await hasAnyKey(storage)) {
      throw new DamagedStoreError(`${where(storage)} holds data but no store meta record (the record naming this replica): it cannot be opened as it was`)
    }
    const replica = wanted ?? freshId(undefined)
    opened = { replica, base: replica }
  } else {
    if (wanted !== undefined && wanted !== meta.base) throw new Error(`this store belongs to replica ${meta.base}, not ${wanted}`)
    opened = meta.clean && meta.repaired !== true
      ? { replica: meta.replica, base: meta.base }
      : { replica: newId(meta, wanted, options.newReplicaId), base: meta.base, replaced: { replica: meta.replica, reason: reasonFor(meta) } }
  }
  await write(storage, { format: FORMAT, replica: opened.replica, base: opened.base, clean: false })
  await storage.checkpoint?.()
  return opened
}

function reasonFor (meta: MetaRecord): Replaced['reason'] {
  if (meta.repaired === true) return 'repaired'
  return meta.format < 3 ? 'upgraded' : 'unclean'
}

function newId (meta: MetaRecord, wanted: string | undefined, make: ((base: string) => string) | undefined): string {
  if (make === undefined) return freshId(wanted)
  const id = make(meta.base)
  if (!isReplicaId(id) || id === meta.replica || id === meta.base) throw new Error(`newReplicaId gave ${JSON.stringify(id)} for a new epoch of ${meta.replica}: it must be a replica id this store has not used`)
  return id
}

/** Sets the clean-close marker: the last write of a store that committed everything it acknowledged. */
export async function markClean (storage: Storage, opened: { replica: string, base: string }): Promise<void> {
  await write(storage, { format: FORMAT, replica: opened.replica, base: opened.base, clean: true })
}

/**
 * After a repair: marks the store so that its next open takes a new id (the repair may have lost its newest
 * writes). A missing or unreadable record is replaced. Returns the id the store had, if known.
 */
export async function markRepaired (storage: Storage): Promise<string | undefined> {
  let meta: MetaRecord | undefined
  try {
    meta = await readMeta(storage)
  } catch (err) {
    if (!(err instanceof DamagedStoreError)) throw err
  }
  const replica = meta?.replica ?? freshId(undefined)
  await write(storage, { format: FORMAT, replica, base: meta?.base ?? replica, clean: false, repaired: true })
  return meta?.replica
}

/**
 * Clears the clean-close marker, as a crash before close would have left it. For the simulator, whose
 * crashes close the store (so that it keeps exactly what it committed) yet must restart as a real crash does.
 */
export async function forgetCleanClose (storage: Storage): Promise<void> {
  const meta = await readMeta(storage)
  if (meta !== undefined) await write(storage, { ...meta, format: FORMAT, clean: false })
}

async function hasAnyKey (storage: Storage): Promise<boolean> {
  for await (const _ of storage.iterator({})) return true
  return false
}

/**
 * Why this storage is not a monoidb store, or undefined if it may be one: with no meta record, a key
 * outside the store's layout is another program's data. For a repair, which must not turn it into a store.
 */
export async function notAStore (storage: Storage): Promise<string | undefined> {
  if (await storage.get(META_KEY) !== undefined) return undefined
  for await (const [key] of storage.iterator({ gte: PAST_STORE_KEYS })) {
    return `it has no store meta record and holds keys monoidb never writes (such as 0x${Buffer.from(key.subarray(0, 16)).toString('hex')})`
  }
  return undefined
}
