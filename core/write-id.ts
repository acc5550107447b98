/**
 * Write ids: `REPLICA/SEQ`, the writing store's replica id and the key's local write number
 * (Entry.seq) after the write. Replica ids never hold '/', so the last '/' splits them. An id names
 * one write of one key: readers pair it with the key.
 */
export interface WriteId { replica: string, seq: number }

export function formatWriteId (replica: string, seq: number): string {
  return `${replica}/${seq}`
}

/** Parses `REPLICA/SEQ`; undefined for anything else (callers name what was wrong). */
export function parseWriteId (id: unknown): WriteId | undefined {
  if (typeof id !== 'string' || id.length > 300) return undefined
  const at = id.lastIndexOf('/')
  if (at <= 0) return undefined
  const replica = id.slice(0, at)
  const digits = id.slice(at + 1)
  if (!/^[1-9][0-9]{0,15}$/.test(digits)) return undefined
  const seq = Number(digits)
  return Number.isSafeInteger(seq) ? { replica, seq } : undefined
}
