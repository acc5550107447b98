/**
 * Storage over LevelDB (the `level` package, classic-level underneath).
 *
 * Durability: by default a batch is acknowledged once LevelDB has appended it
 * to its write-ahead log with write(2), without fsync. That survives a crash of
 * this process (kill -9: the data is in the OS page cache), not a power loss or
 * kernel panic. `{ sync: true }` fsyncs the log on every batch, which survives
 * power loss at the cost of one disk flush per batch (group commit in the
 * replica store keeps that to one flush per burst of writes).
 */
import { Level } from 'level'
import type { BatchOp, KeyRange, Storage } from './storage.ts'

export interface LevelStorageOptions {
  /** fsync every batch: survive power loss, not only a process crash. Default false. */
  sync?: boolean
}

export class LevelStorage implements Storage {
  readonly path: string
  readonly #db: Level<Uint8Array, Uint8Array>
  readonly #sync: boolean

  private constructor (path: string, db: Level<Uint8Array, Uint8Array>, sync: boolean) {
    this.path = path
    this.#db = db
    this.#sync = sync
  }

  /** Opens (creating if needed) the LevelDB folder at `path`. Fails with a clear Error if another process or handle holds it. */
  static async open (path: string, options: LevelStorageOptions = {}): Promise<LevelStorage> {
    const db = new Level<Uint8Array, Uint8Array>(path, { keyEncoding: 'view', valueEncoding: 'view' })
    try {
      await db.open()
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause
      if (cause?.code === 'LEVEL_LOCKED') {
        throw new Error(`data folder ${path} is already open in another process or store (LevelDB lock held)`, { cause: err })
      }
      throw new Error(`cannot open LevelDB data folder ${path}: ${(err as Error).message}${cause !== undefined ? ` (${(cause as Error).message})` : ''}`, { cause: err })
    }
    return new LevelStorage(path, db, options.sync === true)
  }

  async get (key: Uint8Array): Promise<Uint8Array | undefined> {
    return await this.#db.get(key)
  }

  async batch (ops: BatchOp[]): Promise<void> {
    if (ops.length === 0) return
    await this.#db.batch(ops, { sync: this.#sync })
  }

  async * iterator (range: KeyRange): AsyncIterable<[Uint8Array, Uint8Array]> {
    const options: { gte?: Uint8Array, lt?: Uint8Array } = {}
    if (range.gte !== undefined) options.gte = range.gte
    if (range.lt !== undefined) options.lt = range.lt
    const it = this.#db.iterator(options)
    try {
      // nextv reads many entries per round trip to the native side.
      while (true) {
        const entries = await it.nextv(256)
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
