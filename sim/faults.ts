/**
 * Faults: what can go wrong in a run, as a spec parsed from the command line
 * ("drop=0.2,dup=0.2,partition") and as a concrete, JSON-serializable
 * schedule drawn from it by seed. The schedule is what a run executes and what
 * fast-check generates and shrinks, so any failing run can be replayed from it.
 */
import type { Random } from './random.ts'

export const MAX_DROP = 0.3
export const MAX_DUP = 0.5
export const MAX_DELAY_MS = 100
/** lww-register and log stamp local writes at most 60 s past the local clock (contracts/hlc.ts); skew stays far below that. */
export const MAX_SKEW_MS = 5_000

export type PartitionKind =
  /** The two sides cannot reach each other at all; connections close (peerLeft) and reopen at heal (peerJoined). */
  | 'split'
  /** Messages from side A to side B are lost while B→A works and connections look up: no peerLeft. */
  | 'oneway'
  /** One peer (side A, of one) is cut from every other. */
  | 'isolate'

export interface Partition { kind: PartitionKind, side: number[], at: number, heal: number }
export interface Crash { peer: number, at: number, downMs: number, /** an op was running on the peer when it crashed */ inflightOp: boolean }

export interface FaultSchedule {
  drop: number
  dup: number
  /** Each message takes 1 ms plus up to this much more (so messages reorder). */
  delayMs: number
  /** Per peer: its clock's offset from virtual time (ms). */
  skewMs: number[]
  partitions: Partition[]
  crashes: Crash[]
}

/** Which faults to draw, and any fixed values. A number fixes the value; true draws it per seed; false is off. */
export interface FaultSpec {
  drop: number | boolean
  dup: number | boolean
  delay: number | boolean
  skew: number | boolean
  partition: boolean
  crash: boolean
}

export const NO_FAULTS: FaultSpec = { drop: false, dup: false, delay: false, skew: false, partition: false, crash: false }
export const ALL_FAULTS: FaultSpec = { drop: true, dup: true, delay: true, skew: true, partition: true, crash: true }

const LIMITS = { drop: MAX_DROP, dup: MAX_DUP, delay: MAX_DELAY_MS, skew: MAX_SKEW_MS } as const

/**
 * Parses "drop=0.2,dup=0.2,partition". Names: drop, dup, delay (ms), skew (ms)
 * take an optional value (absent: drawn per seed); partition and crash are
 * flags; "random" turns on everything, drawn per seed; "none" is no faults.
 */
export function parseFaults (text: string): FaultSpec {
  const spec: FaultSpec = { ...NO_FAULTS }
  for (const raw of text.split(',')) {
    const part = raw.trim()
    if (part === '' || part === 'none') continue
    if (part === 'random') { Object.assign(spec, ALL_FAULTS); continue }
    const [name, value, extra] = part.split('=')
    if (extra !== undefined) throw new RangeError(`fault "${part}" has more than one "="`)
    if (name === 'partition' || name === 'crash') {
      if (value !== undefined) throw new RangeError(`fault "${name}" takes no value`)
      spec[name] = true
    } else if (name === 'drop' || name === 'dup' || name === 'delay' || name === 'skew') {
      if (value === undefined) { spec[name] = true; continue }
      const n = Number(value)
      if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n > LIMITS[name]) {
        throw new RangeError(`fault "${name}" must be a number in 0..${LIMITS[name]}, got "${value}"`)
      }
      spec[name] = n
    } else {
      throw new RangeError(`unknown fault "${name}"; known: drop, dup, delay, skew, partition, crash, random, none`)
    }
  }
  return spec
}

export function formatFaults (spec: FaultSpec): string {
  const parts: string[] = []
  for (const name of ['drop', 'dup', 'delay', 'skew'] as const) {
    const v = spec[name]
    if (v === true) parts.push(name); else if (typeof v === 'number') parts.push(`${name}=${v}`)
  }
  if (spec.partition) parts.push('partition')
  if (spec.crash) parts.push('crash')
  return parts.length === 0 ? 'none' : parts.join(',')
}

/** Draws a concrete schedule for `peers` peers whose faults all end (heal, restart) by `horizonMs`. */
export function drawSchedule (rng: Random, spec: FaultSpec, peers: number, horizonMs: number): FaultSchedule {
  const value = (v: number | boolean, max: number): number => (v === true ? rng.between(0, max) : v === false ? 0 : v)
  const schedule: FaultSchedule = {
    drop: value(spec.drop, MAX_DROP),
    dup: value(spec.dup, MAX_DUP),
    delayMs: Math.round(value(spec.delay, MAX_DELAY_MS)),
    skewMs: [],
    partitions: [],
    crashes: []
  }
  const skew = Math.round(value(spec.skew, MAX_SKEW_MS))
  for (let p = 0; p < peers; p++) schedule.skewMs.push(skew === 0 ? 0 : rng.int(-skew, skew))
  if (spec.partition && peers >= 2) {
    const count = rng.int(1, 4)
    for (let i = 0; i < count; i++) schedule.partitions.push(drawPartition(rng, peers, horizonMs))
  }
  if (spec.crash) {
    const count = rng.int(1, Math.max(1, Math.ceil(peers / 2)))
    for (let i = 0; i < count; i++) {
      const at = rng.int(0, Math.floor(horizonMs * 0.8))
      schedule.crashes.push({ peer: rng.int(0, peers - 1), at, downMs: rng.int(1, Math.max(1, Math.floor((horizonMs - at) / 2))), inflightOp: rng.chance(0.5) })
    }
  }
  return schedule
}

function drawPartition (rng: Random, peers: number, horizonMs: number): Partition {
  const kind = rng.pick<PartitionKind>(['split', 'oneway', 'isolate'])
  const at = rng.int(0, Math.floor(horizonMs * 0.7))
  const heal = rng.int(at + 1, horizonMs)
  if (kind === 'isolate') return { kind, side: [rng.int(0, peers - 1)], at, heal }
  const shuffled = rng.shuffle(Array.from({ length: peers }, (_, i) => i))
  const side = shuffled.slice(0, rng.int(1, peers - 1)).sort((a, b) => a - b)
  return { kind, side, at, heal }
}

/** When every partition has healed and every crashed peer is back. */
export function lastFaultEnd (s: FaultSchedule): number {
  let end = 0
  for (const p of s.partitions) end = Math.max(end, p.heal)
  for (const c of s.crashes) end = Math.max(end, c.at + c.downMs)
  return end
}

/** Throws RangeError naming the first thing wrong with a schedule (for one read from the command line). */
export function checkSchedule (s: FaultSchedule, peers: number): void {
  const isNum = (x: unknown, lo: number, hi: number): boolean => typeof x === 'number' && Number.isFinite(x) && x >= lo && x <= hi
  const isPeer = (x: unknown): boolean => Number.isInteger(x) && (x as number) >= 0 && (x as number) < peers
  if (s === null || typeof s !== 'object') throw new RangeError('schedule must be an object')
  if (!isNum(s.drop, 0, MAX_DROP)) throw new RangeError(`schedule.drop must be in 0..${MAX_DROP}`)
  if (!isNum(s.dup, 0, MAX_DUP)) throw new RangeError(`schedule.dup must be in 0..${MAX_DUP}`)
  if (!isNum(s.delayMs, 0, MAX_DELAY_MS)) throw new RangeError(`schedule.delayMs must be in 0..${MAX_DELAY_MS}`)
  if (!Array.isArray(s.skewMs) || s.skewMs.length !== peers || !s.skewMs.every(x => isNum(x, -MAX_SKEW_MS, MAX_SKEW_MS))) {
    throw new RangeError(`schedule.skewMs must list ${peers} offsets in ±${MAX_SKEW_MS}`)
  }
  if (!Array.isArray(s.partitions)) throw new RangeError('schedule.partitions must be an array')
  for (const p of s.partitions) {
    if (!['split', 'oneway', 'isolate'].includes(p?.kind)) throw new RangeError(`partition kind must be split, oneway or isolate, got ${JSON.stringify(p?.kind)}`)
    if (!Array.isArray(p.side) || p.side.length === 0 || !p.side.every(isPeer)) throw new RangeError('partition.side must list peers')
    if (!isNum(p.at, 0, Infinity) || !isNum(p.heal, p.at, Infinity)) throw new RangeError('partition needs 0 ≤ at ≤ heal')
  }
  if (!Array.isArray(s.crashes)) throw new RangeError('schedule.crashes must be an array')
  for (const c of s.crashes) {
    if (!isPeer(c?.peer) || !isNum(c.at, 0, Infinity) || !isNum(c.downMs, 0, Infinity) || typeof c.inflightOp !== 'boolean') {
      throw new RangeError('crash must be {peer, at ≥ 0, downMs ≥ 0, inflightOp}')
    }
  }
}
