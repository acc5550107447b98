/**
 * The store's meta record: the layout format and this replica's id, written on
 * first open and checked on every later one, so a replica keeps its id (dots
 * and tie-breaks depend on it) and never opens data it cannot read.
 */
import { randomBytes } from 'node:crypto'
import { decode, encode } from './codec.ts'
import { isReplicaId } from './dots.ts'
import { FORMAT, META_KEY } from './key-layout.ts'
import type { Storage } from './storage.ts'

/** Returns the stored replica id, creating the meta record (with `wanted` or a random id) if there is none. */
export async function openMeta (storage: Storage, wanted: string | undefined): Promise<string> {
  if (wanted !== undefined && !isReplicaId(wanted)) throw new TypeError(`replica id ${JSON.stringify(wanted)} must be 1..128 of [A-Za-z0-9._:+/=-]`)
  const bytes = await storage.get(META_KEY)
  if (bytes === undefined) {
    const replica = wanted ?? randomBytes(12).toString('hex')
    await storage.batch([{ type: 'put', key: META_KEY, value: encode({ format: FORMAT, replica }) }])
    return replica
  }
  const meta = decode(bytes) as { format?: unknown, replica?: unknown }
  if (meta === null || typeof meta !== 'object' || meta.format !== FORMAT || !isReplicaId(meta.replica)) {
    throw new Error(`store meta record ${JSON.stringify(meta)} is not format ${FORMAT}: wrong or damaged data folder`)
  }
  if (wanted !== undefined && wanted !== meta.replica) throw new Error(`this store belongs to replica ${meta.replica}, not ${wanted}`)
  return meta.replica
}
