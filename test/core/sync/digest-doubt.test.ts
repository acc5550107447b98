// When a session falls back to salted lists (core/sync/digest-doubt.ts): after FIRST_WAIT sessions that found
// nothing while digests differed, whatever the digests did meanwhile; a pass resumes across sessions; passes that
// find nothing back off (doubling, capped); keys that cannot merge are left out; equal digests clear the doubt.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { DigestDoubts, FIRST_WAIT, MAX_UNMERGEABLE, MAX_WAIT } from '../../../core/sync/digest-doubt.ts'

const nothing = { differed: true, found: false }
const something = { differed: true, found: true }

/** Suspect sessions until the doubt opens a pass; throws past `max`. */
function untilSalted (doubts: DigestDoubts, peer: string, max = 1000): number {
  for (let n = 1; n <= max; n++) {
    doubts.ended(peer, nothing)
    if (doubts.salted(peer) !== undefined) return n
  }
  throw new Error('no salted session')
}

test('sessions that found nothing while digests differed open a pass, which resumes where each salted session stopped', () => {
  const doubts = new DigestDoubts()
  assert.equal(doubts.salted('p'), undefined, 'no session yet: no doubt')
  for (let i = 1; i < FIRST_WAIT; i++) doubts.ended('p', nothing)
  assert.equal(doubts.salted('p'), undefined, 'not yet')
  doubts.ended('q', nothing)
  doubts.ended('p', nothing)
  assert.equal(doubts.salted('p'), '', 'a pass starts at the start of the key space')
  assert.equal(doubts.salted('q'), FIRST_WAIT > 1 ? undefined : '', 'per peer')
  doubts.ended('p', { ...nothing, saltedTo: 'k5' })
  assert.equal(doubts.salted('p'), 'k5', 'the next salted session resumes')
  doubts.ended('p', something) // an ordinary session in between (no allowance then) changes nothing
  assert.equal(doubts.salted('p'), 'k5')
  doubts.ended('p', { ...nothing, saltedTo: null })
  assert.equal(doubts.salted('p'), undefined, 'the pass reached the end')
})

test('sessions that found a difference, or began at equal digests, do not count', () => {
  const doubts = new DigestDoubts()
  for (let i = 0; i < 10 * MAX_WAIT; i++) {
    doubts.ended('p', something)
    doubts.ended('p', { differed: false, found: false })
  }
  assert.equal(doubts.salted('p'), undefined)
  // Found differences in between do not reset the count: a peer kept busy with other keys is still doubted.
  for (let i = 1; i < FIRST_WAIT; i++) { doubts.ended('p', nothing); doubts.ended('p', something) }
  doubts.ended('p', nothing)
  assert.equal(doubts.salted('p'), '')
})

test('passes that find nothing back off, doubling up to MAX_WAIT; one that finds something starts over', () => {
  const doubts = new DigestDoubts()
  const waits: number[] = []
  for (let pass = 0; pass < 9; pass++) {
    waits.push(untilSalted(doubts, 'p'))
    doubts.ended('p', { ...nothing, saltedTo: null })
  }
  const expected = waits.map((_, i) => Math.min(FIRST_WAIT * 2 ** i, MAX_WAIT))
  assert.deepEqual(waits, expected)
  assert.equal(waits.at(-1), MAX_WAIT, 'capped')
  // A pass that found a difference in any of its salted sessions: the wait goes back to FIRST_WAIT.
  untilSalted(doubts, 'p')
  doubts.ended('p', { ...something, saltedTo: 'k1' })
  doubts.ended('p', { ...nothing, saltedTo: null })
  assert.equal(untilSalted(doubts, 'p'), FIRST_WAIT)
})

test('a pass the peer ran with us counts as ours; equal digests drop the count and any pass', () => {
  const doubts = new DigestDoubts()
  for (let i = 1; i < FIRST_WAIT; i++) doubts.ended('p', nothing)
  doubts.heardSalted('p', false)
  doubts.ended('p', nothing)
  assert.equal(doubts.salted('p'), FIRST_WAIT > 1 ? undefined : '', 'the peer\'s salted lists reset our count')
  doubts.heardSalted('p', true)
  assert.equal(untilSalted(doubts, 'p'), 2 * FIRST_WAIT, 'and its finished pass backs ours off')
  doubts.ended('p', { ...nothing, saltedTo: 'k9' })
  doubts.inSync('p')
  assert.equal(doubts.salted('p'), undefined, 'equal digests: nothing hidden, the pass is dropped')
  doubts.forget('p')
  assert.equal(untilSalted(doubts, 'p'), FIRST_WAIT)
})

test('keys found unmergeable with a peer are remembered per peer, up to MAX_UNMERGEABLE, until digests are equal', () => {
  const doubts = new DigestDoubts()
  doubts.unmergeable('p', 'squatted')
  assert.equal(doubts.isUnmergeable('p', 'squatted'), true)
  assert.equal(doubts.isUnmergeable('q', 'squatted'), false, 'per peer')
  assert.equal(doubts.isUnmergeable('p', 'other'), false)
  for (let i = 0; i < 2 * MAX_UNMERGEABLE; i++) doubts.unmergeable('p', `k${i}`)
  assert.equal(doubts.isUnmergeable('p', `k${MAX_UNMERGEABLE - 2}`), true)
  assert.equal(doubts.isUnmergeable('p', `k${MAX_UNMERGEABLE + 5}`), false, 'bounded: past it, keys count as found')
  doubts.inSync('p')
  assert.equal(doubts.isUnmergeable('p', 'squatted'), false)
})
