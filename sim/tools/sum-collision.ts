/**
 * Builds test/fixtures/sum-collision.json: two g-counter key spaces whose item
 * hashes (PROTOCOL.md §2) have equal sums mod 2^128, though the states differ.
 * It shows that a sum instead of version 2's XOR would be no fix (issue 11 §2):
 * Wagner's k-tree algorithm ("A Generalized Birthday Problem", 2002) finds one
 * in seconds.
 *
 * Each key k is at state [["w", 1]] or [["w", 2]]; d_k = hash(k at 2) − hash(k at 1).
 * We look for coefficients c_k ∈ {−1, 0, 1}, not all 0, with Σ c_k d_k ≡ 0:
 * side A holds k at 2 where c_k = −1, side B where c_k = +1, both at 1 elsewhere.
 * 128 lists, each of sums over its own 11 keys (3^11 − 1 choices, the first 2^17
 * kept), are merged pairwise in a tree: level ℓ keeps pairs whose sum is 0 in
 * bits 16(ℓ−1)…16ℓ−1 (seven levels), and the last merge wants the top 32 bits 0 too.
 *
 * Run: ./node_modules/.bin/node sim/tools/sum-collision.ts [out.json]
 */
import { writeFileSync } from 'node:fs'
import { itemHash } from '../../core/sync/key-index.ts'

const MOD = 1n << 128n
const MASK = MOD - 1n
const LISTS = 128
const POOL = 11
const SIZE = 1 << 17
const CHUNK = 16
const LEVELS = 7 // 128 lists → 1

const keyName = (i: number): string => `s${String(i).padStart(5, '0')}`
const big = (h: Uint8Array): bigint => BigInt('0x' + Buffer.from(h).toString('hex'))
const state = (n: number): unknown => [['w', n]]
const diff = (key: string): bigint => (big(itemHash(key, { id: 'g-counter' }, state(2) as never)) - big(itemHash(key, { id: 'g-counter' }, state(1) as never)) + MOD) & MASK

/** A node of the merge tree: its values, and where each came from (leaf: the coefficient choice; inner: two child indexes). */
interface Node { values: bigint[], leaf?: { first: number }, left?: Int32Array, right?: Int32Array, kids?: [Node, Node] }

/** Leaf `j`: sums over keys POOL·j … POOL·j + POOL − 1 with coefficients −1, 0, 1 (a combination numbered in base 3, 0 → 0, 1 → +1, 2 → −1). */
function leaf (j: number): Node {
  const first = j * POOL
  let sums = [0n]
  for (let i = POOL - 1; i >= 0; i--) {
    const d = diff(keyName(first + i))
    const next: bigint[] = new Array(sums.length * 3)
    for (let s = 0; s < sums.length; s++) {
      next[3 * s] = sums[s]
      next[3 * s + 1] = (sums[s] + d) & MASK
      next[3 * s + 2] = (sums[s] - d + MOD) & MASK
    }
    sums = next
  }
  // Value i is combination i + 1 (base 3, key `first` the least significant digit): 0, all coefficients 0, is skipped.
  return { values: sums.slice(1, SIZE + 1), leaf: { first } }
}

function merge (a: Node, b: Node, level: number): Node {
  const shift = BigInt(CHUNK * (level - 1))
  const values: bigint[] = []
  const left: number[] = []
  const right: number[] = []
  if (level < LEVELS) {
    const buckets = new Map<number, number[]>()
    b.values.forEach((v, i) => {
      const c = Number((v >> shift) & 0xffffn)
      const list = buckets.get(c)
      if (list === undefined) buckets.set(c, [i]); else list.push(i)
    })
    for (let i = 0; i < a.values.length && values.length < SIZE; i++) {
      const want = (0x10000 - Number((a.values[i] >> shift) & 0xffffn)) & 0xffff
      for (const k of buckets.get(want) ?? []) {
        values.push((a.values[i] + b.values[k]) & MASK); left.push(i); right.push(k)
        if (values.length >= SIZE) break
      }
    }
  } else {
    const index = new Map<bigint, number>()
    b.values.forEach((v, i) => { index.set(v, i) })
    for (let i = 0; i < a.values.length; i++) {
      const k = index.get((MOD - a.values[i]) & MASK)
      if (k !== undefined) { values.push(0n); left.push(i); right.push(k); break }
    }
  }
  // Children's values are no longer needed: keep only where each of ours came from.
  a.values = []; b.values = []
  return { values, left: Int32Array.from(left), right: Int32Array.from(right), kids: [a, b] }
}

/** Builds the subtree of 2^depth leaves starting at leaf `from`. */
function build (from: number, depth: number): Node {
  if (depth === 0) return leaf(from)
  const half = 1 << (depth - 1)
  const a = build(from, depth - 1)
  const b = build(from + half, depth - 1)
  const m = merge(a, b, depth)
  process.stderr.write(`level ${depth}, lists ${from}…${from + 2 * half - 1}: ${m.values.length} sums\n`)
  return m
}

/** The coefficients of value `i` of `node`, added into `c`. */
function coefficients (node: Node, i: number, c: Map<number, number>): void {
  if (node.leaf !== undefined) {
    let combo = i + 1
    for (let k = 0; k < POOL; k++) {
      const digit = combo % 3
      combo = Math.floor(combo / 3)
      if (digit !== 0) c.set(node.leaf.first + k, digit === 1 ? 1 : -1)
    }
    return
  }
  coefficients(node.kids![0], node.left![i], c)
  coefficients(node.kids![1], node.right![i], c)
}

const started = Date.now()
const root = build(0, LEVELS)
if (root.values.length === 0) throw new Error('no collision found this time: raise SIZE')
const c = new Map<number, number>()
coefficients(root, 0, c)
const ids = [...c.keys()].sort((x, y) => x - y)
const keys = ids.map(keyName)
const a = ids.map(i => c.get(i) === -1 ? 2 : 1)
const b = ids.map(i => c.get(i) === 1 ? 2 : 1)
// Check before writing: the sums are equal, the states are not.
const sum = (states: number[]): bigint => keys.reduce((s, k, i) => (s + big(itemHash(k, { id: 'g-counter' }, state(states[i]) as never))) & MASK, 0n)
if (sum(a) !== sum(b)) throw new Error('bug: the sums differ')
const out = process.argv[2] ?? new URL('../../test/fixtures/sum-collision.json', import.meta.url).pathname
writeFileSync(out, JSON.stringify({
  about: 'g-counter keys at [["w", n]]: side a holds key i at a[i], side b at b[i]; the sums of their item hashes mod 2^128 are equal (sim/tools/sum-collision.ts)',
  keys, a, b
}) + '\n')
process.stderr.write(`${keys.length} keys, ${Date.now() - started} ms → ${out}\n`)
