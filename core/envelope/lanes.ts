/**
 * The lane cap of an owned key's state: at most MAX_LANES blocks per (writer, gen), the smallest lanes. Keeping
 * the L smallest of a set is a join (the L smallest of A ∪ B ∪ C are the L smallest of (the L smallest of
 * A ∪ B) ∪ C), so merge stays commutative, associative and idempotent; a store refuses a write that would open
 * a lane past the cap (owned-ops.ts), so no lane an honest store wrote in is dropped unless more than
 * MAX_LANES of its writer's stores open lanes at once.
 */
import { MAX_LANES } from './owned-params.ts'
import { type Block, type MergeInfo, type OwnedState, writerGen } from './state.ts'

/** `s` with each (writer, gen) cut to its MAX_LANES smallest lanes (blocks are sorted by writer, gen, lane). */
export function capLanes (s: OwnedState, info?: MergeInfo): OwnedState {
  let over = false
  for (let i = MAX_LANES; i < s.w.length && !over; i++) over = writerGen(s.w[i][0], s.w[i][1]) === writerGen(s.w[i - MAX_LANES][0], s.w[i - MAX_LANES][1])
  if (!over) return s
  const w: Block[] = []
  let run = 0
  for (let i = 0; i < s.w.length; i++) {
    run = i > 0 && writerGen(s.w[i][0], s.w[i][1]) === writerGen(s.w[i - 1][0], s.w[i - 1][1]) ? run + 1 : 0
    if (run < MAX_LANES) w.push(s.w[i])
  }
  if (info !== undefined) info.dropped = true
  return { a: s.a, w }
}

/** How many lanes (blocks) the (writer, gen) `wg` has in `s`. */
export function laneCount (s: OwnedState, wg: string): number {
  let count = 0
  for (const b of s.w) if (writerGen(b[0], b[1]) === wg) count++
  return count
}
