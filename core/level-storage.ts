/**
 * Storage over LevelDB (the `level` package, classic-level underneath).
 *
 * Durability: with `{ sync: true }` every batch fsyncs LevelDB's write-ahead
 * log before it is acknowledged, which survives power loss (group commit in
 * the replica store keeps that to one flush per burst of writes). Without it
 * a batch is acknowledged once appended to the log with write(2): that
 * survives a crash of this process (the data is in the OS page cache), not a
 * power loss or kernel panic, whose torn log silently loses the newest writes.
 *
 * A folder that holds files is opened with `createIfMissing: false` by its
 * owner: LevelDB then refuses a folder whose CURRENT file is gone instead of
 * creating an empty database beside the old tables (and later deleting them
 * as obsolete); any other failure to open such a folder but its lock (a
 * missing MANIFEST, garbage in CURRENT, a table gone) is a DamagedStoreError
 * too, and so is a damaged table found by a later read (LevelDB opens tables
 * lazily). `LevelStorage.repair` is the way back from such damage.
 */
import { Level } from 'level'
import { type BatchOp, type BatchOptions, DamagedStoreError, type KeyRange, type Storage } from './storage.ts'

/** What an acknowledged write survives: 'power' fsyncs every batch (`sync: true`), 'process' does not. */
export type Durability = 'power' | 'process'
export const DURABILITIES: readonly Durability[] = ['power', 'process']

export interface LevelStorageOptions {
  /** fsync every batch: survive power loss, not only a process crash. Default false. */
  sync?: boolean
  /** Create the database if the folder holds none. Default true; false refuses such a folder with DamagedStoreError. */
  createIfMissing?: boolean
}

/** In Node, `level` is classic-level, which has these beyond the abstract-level typings. */
interface ClassicExtras { compactRange (start: Uint8Array, end: Uint8Array): Promise<void> }
const classic = Level as unknown as { repair (location: string): Promise<void> }

/** The folder is open in another process or store (LevelDB's lock is held). */
export class StoreInUseError extends Error {}

// Past every key the replica store writes (tags 0x00..0x03): compacting this empty range only flushes the memtable.
const PAST_ALL = Uint8Array.of(0xff, 0xff, 0xff, 0xff)
const PAST_ALL_END = Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff)

export class LevelStorage implements Storage {
  readonly path: string
  readonly #db: Level<Uint8Array, Uint8Array>
  readonly #sync: boolean

  private constructor (path: string, db: Level<Uint8Array, Uint8Array>, sync: boolean) {
    this.path = path
    this.#db = db
    this.#sync = sync
  }

  /**
   * Opens the LevelDB folder at `path` (creating it unless `createIfMissing` is false).
   * Fails with a clear Error if another process or handle holds it, and with
   * DamagedStoreError if it is corrupt, or (createIfMissing false) fails to open for any reason but
   * its lock: such a folder held a database, so it is damaged.
   */
  static async open (path: string, options: LevelStorageOptions = {}): Promise<LevelStorage> {
    const createIfMissing = options.createIfMissing ?? true
    const db = new Level<Uint8Array, Uint8Array>(path, { keyEncoding: 'view', valueEncoding: 'view', createIfMissing })
    try {
      await db.open()
    } catch (err) {
      const cause = (err as { cause?: { code?: string, message?: string } }).cause
      const why = cause?.message ?? (err as Error).message
      if (cause?.code === 'LEVEL_LOCKED') {
        throw new StoreInUseError(`data folder ${path} is already open in another process or store (LevelDB lock held)`, { cause: err })
      }
      if (!createIfMissing && /does not exist/.test(why)) {
        throw new DamagedStoreError(`store folder ${path} holds files but LevelDB finds no database in it (its CURRENT file is missing or unreadable: ${why})`, { cause: err })
      }
      if (cause?.code === 'LEVEL_CORRUPTION') {
        throw new DamagedStoreError(`store folder ${path} is corrupt (LevelDB: ${why})`, { cause: err })
      }
      // A folder that held a database and no longer opens is damaged whatever LevelDB calls it: a missing
      // MANIFEST or a CURRENT naming no file is an "IO error", not a corruption.
      if (!createIfMissing) {
        throw new DamagedStoreError(`store folder ${path} cannot be opened as the database it was (LevelDB: ${why})`, { cause: err })
      }
      throw new Error(`cannot open LevelDB data folder ${path}: ${(err as Error).message}${cause !== undefined ? ` (${why})` : ''}`, { cause: err })
    }
    return new LevelStorage(path, db, options.sync === true)
  }

  /**
   * LevelDB's repair (RepairDB): rebuilds the folder's MANIFEST and CURRENT
   * from the tables and logs it finds, keeping every record it can read.
   * The folder must not be open anywhere.
   */
  static async repair (path: string): Promise<void> {
    await classic.repair(path)
  }

  async get (key: Uint8Array): Promise<Uint8Array | undefined> {
    try {
      return await this.#db.get(key)
    } catch (err) {
      throw this.#damaged(err)
    }
  }

  /**
   * LevelDB opens tables lazily: a damaged one (garbage, or cut short: an IO error naming the table) is
   * found by the first read that needs it. That is damage to repair, not a bug.
   */
  #damaged (err: unknown): unknown {
    const { code, message } = err as { code?: unknown, message?: unknown }
    const table = code === 'LEVEL_IO_ERROR' && typeof message === 'string' && /\.(ldb|sst): /.test(message)
    if (code !== 'LEVEL_CORRUPTION' && !table) return err
    return new DamagedStoreError(`store folder ${this.path} is corrupt (LevelDB: ${(err as Error).message})`, { cause: err })
  }

  async batch (ops: BatchOp[], options?: BatchOptions): Promise<void> {
    if (ops.length === 0) return
    await this.#db.batch(ops, { sync: this.#sync || options?.sync === true })
  }

  /** Flushes LevelDB's memtable to a table (fsynced) and starts a new log, so a torn log cannot lose what was committed before. */
  async checkpoint (): Promise<void> {
    await (this.#db as unknown as ClassicExtras).compactRange(PAST_ALL, PAST_ALL_END).catch((err: unknown) => { throw this.#damaged(err) })
  }

  async * iterator (range: KeyRange): AsyncIterable<[Uint8Array, Uint8Array]> {
    const options: { gte?: Uint8Array, lt?: Uint8Array } = {}
    if (range.gte !== undefined) options.gte = range.gte
    if (range.lt !== undefined) options.lt = range.lt
    const it = this.#db.iterator(options)
    try {
      // nextv reads many entries per round trip to the native side.
      while (true) {
        const entries = await it.nextv(256).catch((err: unknown) => { throw this.#damaged(err) })
        if (entries.length === 0) return
        for (const entry of entries) yield entry as [Uint8Array, Uint8Array]
      }
    } finally {
      await it.close()
    }
  }

  async close (): Promise<void> {
    await this.#db.close()
  }
}
