/**
 * Group commit. Writers stage one value per key into the open batch; the batch
 * is written as ONE storage batch on the next turn of the event loop, and
 * while it is being written newcomers fill the next one. So a burst of N
 * writes costs a few storage batches, not N, and a key written many times in
 * one batch is encoded once. A writer's promise resolves only after the batch
 * holding its value is committed.
 *
 * A failed batch write (or a value that cannot be turned into ops) fails that
 * batch and every later one: values staged after it were computed from its
 * uncommitted values, so nothing later may be written. The owner must reopen.
 */
import type { BatchOp, Storage } from './storage.ts'

interface Batch<T> {
  readonly values: Map<string, T>
  readonly done: Promise<void>
  resolve (): void
  reject (err: Error): void
}

export interface WriteQueueHooks<T> {
  /** The storage ops for one key's staged value; called once per key per batch, at write time. */
  toOps (key: string, value: T): BatchOp[]
  /** Called after a batch is committed, before its writers resume, in commit order. */
  committed (values: ReadonlyMap<string, T>): void
}

export interface WriteQueueStats { batches: number, ops: number }

export class WriteQueue<T> {
  readonly #storage: Storage
  readonly #hooks: WriteQueueHooks<T>
  #open: Batch<T> | undefined
  #writing: Promise<void> | undefined
  #failure: Error | undefined
  readonly stats: WriteQueueStats = { batches: 0, ops: 0 }

  constructor (storage: Storage, hooks: WriteQueueHooks<T>) {
    this.#storage = storage
    this.#hooks = hooks
  }

  /** Why writes are refused, if a batch failed. */
  get failure (): Error | undefined { return this.#failure }

  /** The value staged for `key` in the batch still open to writers, if any. */
  staged (key: string): T | undefined {
    return this.#open?.values.get(key)
  }

  /** Stages `value` for `key` in the open batch (replacing an earlier one); resolves once that batch is committed. */
  stage (key: string, value: T): Promise<void> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure)
    if (this.#open === undefined) {
      this.#open = newBatch()
      if (this.#writing === undefined) setImmediate(() => { this.#flush() })
    }
    this.#open.values.set(key, value)
    return this.#open.done
  }

  /** Resolves when everything staged so far is committed; rejects if a batch failed. */
  async drain (): Promise<void> {
    while (this.#writing !== undefined || this.#open !== undefined) {
      if (this.#failure !== undefined) throw this.#failure
      await (this.#writing ?? this.#open?.done)?.catch(() => {})
    }
    if (this.#failure !== undefined) throw this.#failure
  }

  #flush (): void {
    const batch = this.#open
    if (batch === undefined || this.#writing !== undefined) return
    this.#open = undefined
    let ops: BatchOp[]
    try {
      ops = []
      for (const [key, value] of batch.values) {
        for (const op of this.#hooks.toOps(key, value)) ops.push(op)
      }
    } catch (err) {
      this.#fail(batch, err)
      return
    }
    this.#writing = this.#storage.batch(ops).then(() => {
      this.stats.batches++
      this.stats.ops += ops.length
      try {
        this.#hooks.committed(batch.values)
      } finally {
        batch.resolve() // the data is on disk whatever the hook did
      }
    }, err => { this.#fail(batch, err) }).finally(() => {
      this.#writing = undefined
      this.#flush()
    })
  }

  #fail (batch: Batch<T>, err: unknown): void {
    const cause = err instanceof Error ? err : new Error(String(err))
    this.#failure ??= new Error(`a storage batch failed, so this store refuses further writes; reopen it: ${cause.message}`, { cause })
    batch.reject(this.#failure)
    const open = this.#open
    this.#open = undefined
    open?.reject(this.#failure)
  }
}

function newBatch<T> (): Batch<T> {
  let resolve!: () => void
  let reject!: (err: Error) => void
  const done = new Promise<void>((res, rej) => { resolve = res; reject = rej })
  done.catch(() => {}) // writers observe the rejection through stage(); no unhandled rejection if none is left
  return { values: new Map(), done, resolve, reject }
}
