/**
 * A short JSON preview of any value, for error messages about untrusted input. It costs at most
 * about `max` characters of work whatever the value holds: JSON.stringify of a decoded 1 MiB
 * message (a byte string becomes {"0":0,"1":0,...}) took 100 ms, blocking the event loop, only
 * to keep its first 60 characters. Byte strings show as `<n bytes>`.
 */
export function preview (x: unknown, max: number): string {
  const out: string[] = []
  let len = 0
  /** Appends `s`; false once the preview is long enough (the walk then stops). */
  const put = (s: string): boolean => { out.push(s); len += s.length; return len <= max }
  const text = (s: string): string => JSON.stringify(s.length > max ? s.slice(0, max + 1) : s)
  const walk = (v: unknown, top: boolean): boolean => {
    if (v === null) return put('null')
    switch (typeof v) {
      case 'string': return put(text(v))
      case 'number': return put(Number.isFinite(v) ? String(v) : 'null')
      case 'boolean': case 'bigint': return put(String(v))
      case 'undefined': case 'function': case 'symbol': return put(top ? String(v) : 'null')
    }
    if (v instanceof Uint8Array) return put(`<${v.length} bytes>`)
    if (Array.isArray(v)) {
      if (!put('[')) return false
      for (let i = 0; i < v.length; i++) if ((i > 0 && !put(',')) || !walk(v[i], false)) return false
      return put(']')
    }
    if (!put('{')) return false
    let first = true
    for (const k in v as object) {
      if (!Object.hasOwn(v as object, k)) continue
      const item = (v as Record<string, unknown>)[k]
      if (item === undefined || typeof item === 'function' || typeof item === 'symbol') continue
      if ((!first && !put(',')) || !put(text(k) + ':') || !walk(item, false)) return false
      first = false
    }
    return put('}')
  }
  walk(x, true)
  const s = out.join('')
  return s.length > max ? s.slice(0, max - 3) + '...' : s
}
