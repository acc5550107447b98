/**
 * The store's meta record: the layout format and this replica's id, written on
 * first open and checked on every later one, so a replica keeps its id (dots
 * and tie-breaks depend on it) and never opens data it cannot read. A folder
 * of an older format this version reads as is gets its meta record rewritten
 * to the current format, so an older version refuses it from then on.
 */
import { randomBytes } from 'node:crypto'
import { decode, encode } from './codec.ts'
import { isReplicaId } from './dots.ts'
import { FORMAT, META_KEY, READABLE_FORMATS } from './key-layout.ts'
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
  const path = (storage as { path?: unknown }).path
  const where = typeof path === 'string' ? `data folder ${path}` : 'this storage'
  if (meta === null || typeof meta !== 'object' || !isReplicaId(meta.replica)) {
    throw new Error(`${where} has no valid store meta record (${JSON.stringify(meta)}): wrong or damaged data folder`)
  }
  if (typeof meta.format !== 'number' || !READABLE_FORMATS.includes(meta.format)) {
    throw new Error(`${where} is in store format ${JSON.stringify(meta.format)}; this version reads formats ${READABLE_FORMATS.join(' and ')} only`)
  }
  if (wanted !== undefined && wanted !== meta.replica) throw new Error(`this store belongs to replica ${meta.replica}, not ${wanted}`)
  if (meta.format !== FORMAT) await storage.batch([{ type: 'put', key: META_KEY, value: encode({ format: FORMAT, replica: meta.replica }) }])
  return meta.replica
}
