/**
 * The whole-key-space digest's cost (issue 11 §2; core/sync/lthash.ts): one
 * change (subtract a key's old item hash, add its new one, hash the
 * accumulator for the next digest), the rebuild of 100,000 keys (what a
 * peer does once when it loads its store), version 2's XOR for comparison,
 * and the salted hashes of the fallback (one per key listed).
 *
 * Run: ./node_modules/.bin/node sim/bench/digest.bench.ts
 */
import { createHash } from 'node:crypto'
import { cpus } from 'node:os'
import { encodeMessage } from '../../core/sync/messages.ts'
import { LtHash } from '../../core/sync/lthash.ts'
import { saltedHash } from '../../core/sync/salted.ts'

const KEYS = 100_000
const hashes = Array.from({ length: KEYS }, (_, i) => new Uint8Array(createHash('sha256').update(`k${i}`).digest().subarray(0, 16)))
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

function rebuild (): number {
  const t = performance.now()
  const h = new LtHash()
  for (const x of hashes) h.add(x)
  h.digest()
  return performance.now() - t
}

function xorRebuild (): number {
  const t = performance.now()
  const fp = new Uint8Array(16)
  for (const x of hashes) for (let i = 0; i < 16; i++) fp[i] ^= x[i]
  return performance.now() - t
}

/**
 * One commit as a peer sees it: a key (of 1,000) moves to a new item hash never seen before; its old hash is
 * the one its previous commit added (`cold`: not cached, as for a key first changed since the store loaded).
 */
function perChange (n: number, cold: boolean): number {
  const h = new LtHash()
  const current = hashes.slice(0, 1000)
  for (const x of current) h.add(x)
  const fresh = Array.from({ length: n }, (_, i) => new Uint8Array(createHash('sha256').update(`v${i}/${Math.random()}`).digest().subarray(0, 16)))
  const olds = cold ? Array.from({ length: n }, (_, i) => hashes[2000 + i]) : undefined
  const t = performance.now()
  for (let i = 0; i < n; i++) {
    const k = i % 1000
    h.replace(olds?.[i] ?? current[k], fresh[i]) // cold: a hash not cached (the sum is off, the cost is the same)
    current[k] = fresh[i]
    h.digest()
  }
  return (performance.now() - t) * 1000 / n
}

function salted (): number {
  const salt = new Uint8Array(16).fill(1)
  const t = performance.now()
  for (const x of hashes) saltedHash(salt, x)
  return (performance.now() - t) * 1000 / KEYS
}

rebuild() // warm up
const rows = {
  'accumulator: one change, old hash cached, µs': median(Array.from({ length: 5 }, () => perChange(2000, false))),
  'accumulator: one change, nothing cached, µs': median(Array.from({ length: 5 }, () => perChange(2000, true))),
  [`accumulator: rebuild of ${KEYS.toLocaleString('en')} keys, ms`]: median(Array.from({ length: 3 }, rebuild)),
  [`version 2 XOR: rebuild of ${KEYS.toLocaleString('en')} keys, ms`]: median(Array.from({ length: 3 }, xorRebuild)),
  'salted hash, per key, µs': median(Array.from({ length: 3 }, salted)),
  'digest message, bytes': encodeMessage({ type: 'digest', fp: new LtHash().digest() }).length,
  'digest message with was, bytes': encodeMessage({ type: 'digest', fp: new LtHash().digest(), was: new LtHash().digest() }).length
}
console.log(`${cpus().length} × ${cpus()[0]?.model ?? '?'}, Node ${process.version}`)
for (const [k, v] of Object.entries(rows)) console.log(`${k.padEnd(52)} ${Number.isInteger(v) ? v : v.toFixed(1)}`)
