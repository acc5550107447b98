// When a session falls back to salted lists (core/sync/digest-doubt.ts): only after a session that changed
// nothing, at the very same pair of digests, and until the whole key space was listed once for that pair.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { DigestDoubts } from '../../../core/sync/digest-doubt.ts'

const d = (n: number): Uint8Array => new Uint8Array(16).fill(n)

test('a session that changed nothing at a pair of digests makes the next one at that pair salted, resuming where salted ones stopped', () => {
  const doubts = new DigestDoubts()
  assert.equal(doubts.salted('p', d(1), d(2)), undefined, 'no session yet: no doubt')
  doubts.ended('p', d(1), d(2), d(1))
  assert.equal(doubts.salted('p', d(1), d(2)), '')
  assert.equal(doubts.salted('p', d(1), d(3)), undefined, 'the peer moved on: an ordinary session')
  assert.equal(doubts.salted('p', d(4), d(2)), undefined, 'we moved on: an ordinary session')
  assert.equal(doubts.salted('q', d(1), d(2)), undefined, 'another peer')
  doubts.ended('p', d(1), d(2), d(1), 'k5')
  assert.equal(doubts.salted('p', d(1), d(2)), 'k5')
  doubts.ended('p', d(1), d(2), d(1), null)
  assert.equal(doubts.salted('p', d(1), d(2)), undefined, 'every key was listed for this pair: no more salted sessions')
  doubts.ended('p', d(1), d(2), d(1))
  assert.equal(doubts.salted('p', d(1), d(2)), undefined, 'an ordinary session at the same pair does not start them again')
  doubts.forget('p')
  doubts.ended('p', d(1), d(2), d(1))
  assert.equal(doubts.salted('p', d(1), d(2)), '')
})

test('no doubt when the session changed our state, when digests became equal, or when the peer\'s digest is unknown', () => {
  const doubts = new DigestDoubts()
  doubts.ended('p', d(1), d(2), d(3))
  assert.equal(doubts.salted('p', d(1), d(2)), undefined)
  assert.equal(doubts.salted('p', d(3), d(2)), undefined)
  doubts.ended('p', d(2), d(2), d(2))
  assert.equal(doubts.salted('p', d(2), d(2)), undefined)
  doubts.ended('p', d(1), undefined, d(1))
  assert.equal(doubts.salted('p', d(1), d(2)), undefined)
  // A doubt is dropped by a later session that changed something.
  doubts.ended('p', d(1), d(2), d(1))
  doubts.ended('p', d(1), d(2), d(5))
  assert.equal(doubts.salted('p', d(1), d(2)), undefined)
})
