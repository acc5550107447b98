// connect(apiUrl, token) against an in-process node and HTTP API.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { ApiError, connect, type MonoidbClient } from '../../node/client.ts'
import { type HttpApi, startHttpApi } from '../../node/http-api.ts'
import type { MonoidbNode } from '../../node/node.ts'
import { nodeFixtures } from '../helpers/node-fixtures.ts'

const TOKEN = 'client-test-token'
const fx = await nodeFixtures('client')
let node: MonoidbNode
let api: HttpApi
let client: MonoidbClient
before(async () => {
  node = await fx.start({})
  api = await startHttpApi(node, { host: '127.0.0.1', port: 0, token: TOKEN })
  client = connect(api.url + '/', TOKEN)
})
after(async () => {
  await api?.close()
  await fx.cleanup()
})

async function refusal (p: Promise<unknown>): Promise<ApiError> {
  const err = await p.then(() => undefined, (e: unknown) => e)
  assert.ok(err instanceof ApiError, `expected an ApiError, got ${String(err)}`)
  return err
}

test('update, get, keys, status and peers return the API\'s typed answers', async () => {
  assert.deepEqual(await client.update('a/b c', 'or-set', 'add', ['x']), { key: 'a/b c', contract: { id: 'or-set' }, value: ['x'], write: `${node.replica}/1` })
  assert.deepEqual(await client.update('n', 'pn-counter', 'inc'), { key: 'n', contract: { id: 'pn-counter' }, value: 1, write: `${node.replica}/1` })
  assert.deepEqual(await client.update('a/b c', 'or-set', 'remove', ['absent']), { key: 'a/b c', contract: { id: 'or-set' }, value: ['x'], write: null }, 'an op that changes nothing writes nothing')
  assert.deepEqual(await client.get('a/b c'), { key: 'a/b c', contract: { id: 'or-set' }, value: ['x'] })
  assert.deepEqual(await client.keys(), ['a/b c', 'n'])
  assert.deepEqual(await client.keys('a/'), ['a/b c'])
  assert.deepEqual(await client.status(), { peerId: node.peerId, multiaddrs: node.multiaddrs(), peers: 0, keys: 2, replicateAll: false, unknownContracts: { byId: {}, others: 0 }, unknownContractKeys: { byId: {}, others: 0 }, sessions: [], publicKey: null })
  assert.deepEqual(await client.peers(), [])
})

test('refusals become ApiErrors with the API\'s code, message and status', async () => {
  const missing = await refusal(client.get('missing', { wait: 0 }))
  assert.deepEqual([missing.code, missing.status], ['not_found', 404])
  assert.match(missing.message, /"missing"/)
  assert.equal((await refusal(client.update('n', 'or-set', 'add', [1]))).code, 'contract_mismatch')
  assert.equal((await refusal(client.update('m', 'pn-counter', 'inc', ['five']))).code, 'bad_args')
  const wrong = await refusal(connect(api.url, 'nope').status())
  assert.deepEqual([wrong.code, wrong.status], ['unauthorized', 401])
  assert.equal((await refusal(connect('http://127.0.0.1:1', TOKEN).status())).code, 'unreachable')
  assert.equal((await refusal(connect(api.url, 'nope').watch('n')[Symbol.asyncIterator]().next())).code, 'unauthorized')
})

test('watch yields the current value, then each change; leaving the loop closes the stream', async () => {
  const seen: unknown[] = []
  for await (const event of client.watch('w')) {
    seen.push(event)
    if (seen.length === 1) await node.update('w', 'g-counter', 'inc', [4])
    else break
  }
  assert.deepEqual(seen, [
    { key: 'w', contract: null, value: null },
    { key: 'w', contract: { id: 'g-counter' }, value: 4, origin: 'local', write: `${node.replica}/1` }
  ])
  const deadline = Date.now() + 2_000
  while (api.openStreams > 0 && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 10))
  assert.equal(api.openStreams, 0, 'the daemon ended the subscription')

  const stop = new AbortController()
  const events: unknown[] = []
  for await (const event of client.watch('w', { signal: stop.signal })) { events.push(event); stop.abort() }
  assert.equal(events.length, 1, 'an aborted watch ends quietly')
})
