/**
 * The storage the replica store sits on: an ordered byte-key/byte-value map with
 * atomic batches and range iteration, nothing more (OrbitDB style), so LevelDB,
 * memory or anything else can stand under it. `MemoryStorage` keeps entries in
 * a sorted array: it is what the simulator and unit tests use.
 */

export type BatchOp =
  | { type: 'put', key: Uint8Array, value: Uint8Array }
  | { type: 'del', key: Uint8Array }

/** Keys in `[gte, lt)`; either bound may be absent. */
export interface KeyRange { gte?: Uint8Array, lt?: Uint8Array }

export interface BatchOptions {
  /** Durable across power loss before the promise resolves, whatever the storage's own durability setting. */
  sync?: boolean
}

export interface Storage {
  get (key: Uint8Array): Promise<Uint8Array | undefined>
  /** Applies every op or none. Ops on the same key apply in order. */
  batch (ops: BatchOp[], options?: BatchOptions): Promise<void>
  /** Entries in ascending bytewise key order, as of when iteration starts. */
  iterator (range: KeyRange): AsyncIterable<[Uint8Array, Uint8Array]>
  /**
   * Optional: moves what is committed out of any write-ahead log into durable
   * tables, so damage to the newest log (a torn tail) cannot take it back.
   * The store calls it once per open, after writing its meta record.
   */
  checkpoint? (): Promise<void>
  close (): Promise<void>
}

/**
 * A storage that holds data but cannot be opened as it was (LevelDB finds no
 * database in a folder with files, tables are corrupt, the meta record is
 * missing or unreadable). Starting it empty would lose that data: the owner
 * refuses to start and points at a repair.
 */
export class DamagedStoreError extends Error {
  constructor (message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'DamagedStoreError'
  }
}

function compareBytes (a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(a, b)
}

export class MemoryStorage implements Storage {
  // Sorted by key; values are private copies so callers can reuse their buffers.
  readonly #keys: Uint8Array[]
  readonly #values: Uint8Array[]
  #closed = false

  constructor () {
    this.#keys = []
    this.#values = []
  }

  /** A new open handle over the same entries, as if a process restarted on the same disk (for the simulator). */
  reopen (): MemoryStorage {
    if (!this.#closed) throw new Error('MemoryStorage is still open; close it before reopening')
    const next = new MemoryStorage()
    for (let i = 0; i < this.#keys.length; i++) { next.#keys.push(this.#keys[i]); next.#values.push(this.#values[i]) }
    return next
  }

  /** Index of the first key ≥ `key`. */
  #lowerBound (key: Uint8Array): number {
    let lo = 0; let hi = this.#keys.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (compareBytes(this.#keys[mid], key) < 0) lo = mid + 1; else hi = mid
    }
    return lo
  }

  #checkOpen (): void {
    if (this.#closed) throw new Error('MemoryStorage is closed')
  }

  async get (key: Uint8Array): Promise<Uint8Array | undefined> {
    this.#checkOpen()
    const i = this.#lowerBound(key)
    return i < this.#keys.length && compareBytes(this.#keys[i], key) === 0 ? this.#values[i].slice() : undefined
  }

  async batch (ops: BatchOp[], _options?: BatchOptions): Promise<void> {
    this.#checkOpen()
    // Check every op before applying any, so a bad op leaves the map untouched.
    for (const op of ops) {
      if (!(op.key instanceof Uint8Array)) throw new TypeError('batch op key must be a Uint8Array')
      if (op.type === 'put') {
        if (!(op.value instanceof Uint8Array)) throw new TypeError('batch put value must be a Uint8Array')
      } else if (op.type !== 'del') {
        throw new TypeError(`unknown batch op type ${JSON.stringify((op as { type: unknown }).type)}`)
      }
    }
    for (const op of ops) {
      const i = this.#lowerBound(op.key)
      const found = i < this.#keys.length && compareBytes(this.#keys[i], op.key) === 0
      if (op.type === 'put') {
        if (found) this.#values[i] = op.value.slice()
        else { this.#keys.splice(i, 0, op.key.slice()); this.#values.splice(i, 0, op.value.slice()) }
      } else if (found) {
        this.#keys.splice(i, 1); this.#values.splice(i, 1)
      }
    }
  }

  async * iterator (range: KeyRange): AsyncIterable<[Uint8Array, Uint8Array]> {
    this.#checkOpen()
    // A snapshot taken now, like LevelDB's: later writes do not show up mid-iteration.
    const start = range.gte === undefined ? 0 : this.#lowerBound(range.gte)
    const end = range.lt === undefined ? this.#keys.length : this.#lowerBound(range.lt)
    const keys = this.#keys.slice(start, Math.max(start, end))
    const values = this.#values.slice(start, Math.max(start, end))
    for (let i = 0; i < keys.length; i++) yield [keys[i].slice(), values[i].slice()]
  }

  async close (): Promise<void> {
    this.#closed = true
  }
}
