import assert from 'node:assert/strict'
import { it } from 'node:test'
import { type Change, Subscribers, Subscription } from '../../core/subscription.ts'

const change = (value: number, origin = 'local'): Change => ({ key: 'k', contract: { id: 'max-register' }, value, origin })

it('delivers pushed changes in order, to waiting and later readers', async () => {
  const sub = new Subscription(() => {})
  const first = sub.next()
  const second = sub.next()
  sub.push(change(1)); sub.push(change(2)); sub.push(change(3))
  assert.equal((await first).value?.value, 1)
  assert.equal((await second).value?.value, 2)
  assert.equal((await sub.next()).value?.value, 3)
})

it('a subscriber that falls behind loses the oldest changes, not the newest', async () => {
  const sub = new Subscription(() => {}, { maxBuffered: 3 })
  for (let i = 1; i <= 5; i++) sub.push(change(i))
  assert.equal(sub.dropped, 2)
  const seen: number[] = []
  for (let i = 0; i < 3; i++) seen.push((await sub.next()).value!.value as number)
  assert.deepEqual(seen, [3, 4, 5])
})

it('return(), break and abort end the stream and unregister it', async () => {
  const subs = new Subscribers()
  const a = subs.add('k', {})
  const ac = new AbortController()
  const b = subs.add('k', { signal: ac.signal })
  const pending = b.next()
  ac.abort()
  assert.deepEqual(await pending, { value: undefined, done: true })
  subs.emit('k', () => change(1))
  for await (const c of a) { assert.equal(c.value, 1); break }
  assert.equal(a.ended, true)
  assert.equal(subs.has('k'), false)
  const late = subs.add('k', { signal: AbortSignal.abort() })
  assert.deepEqual(await late.next(), { value: undefined, done: true })
})

it('emit skips a change whose value cannot be computed and reaches only the key\'s subscribers', async () => {
  const subs = new Subscribers()
  const k = subs.add('k', {}); const other = subs.add('other', {})
  subs.emit('k', () => { throw new Error('view failed') })
  subs.emit('k', () => change(2, 'peer'))
  assert.deepEqual((await k.next()).value, change(2, 'peer'))
  subs.endAll()
  assert.deepEqual(await other.next(), { value: undefined, done: true })
})
