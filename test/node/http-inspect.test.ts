// The inspection routes over an in-process node (real LevelDB, real libp2p on loopback), driven with fetch.
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { type HttpApi, startHttpApi } from '../../node/http-api.ts'
import type { MonoidbNode } from '../../node/node.ts'
import { hasSubscribedPeer, nodeFixtures, until } from '../helpers/node-fixtures.ts'

const TOKEN = 'test-token-inspect-0123456789'
const fx = await nodeFixtures('http-inspect')
let node: MonoidbNode
let peer: MonoidbNode
let api: HttpApi
before(async () => {
  node = await fx.start({ replicateAll: true })
  peer = await fx.start({ replicateAll: true, bootstrap: node.multiaddrs() })
  api = await startHttpApi(node, { host: '127.0.0.1', port: 0, token: TOKEN })
  await until('the peers to subscribe to each other', () => hasSubscribedPeer(node, peer) && hasSubscribedPeer(peer, node), 10_000)
})
after(async () => {
  await api?.close()
  await fx.cleanup()
})

async function call (method: string, path: string, token: string | null = TOKEN): Promise<{ status: number, body: any }> {
  const res = await fetch(api.url + path, { method, headers: token === null ? {} : { authorization: `Bearer ${token}` } })
  return { status: res.status, body: await res.json() }
}

test('GET inspect answers the documented JSON; its peer is equal once it has the writes', async () => {
  const key = 'a/b c' // a key that needs percent-encoding
  await node.update(key, 'or-set', 'add', ['x'])
  await node.update(key, 'or-set', 'add', ['y'])
  let r: { status: number, body: any } | undefined
  await until('the peer to be equal', async () => {
    r = await call('GET', `/v1/keys/${encodeURIComponent(key)}/inspect?timeout=500`)
    return r.body.peers?.[0]?.state === 'equal'
  }, 15_000)
  assert.equal(r!.status, 200)
  assert.deepEqual(Object.keys(r!.body), ['key', 'local', 'peers'])
  assert.equal(r!.body.key, key)
  assert.deepEqual(r!.body.local.binding, { id: 'or-set' })
  assert.deepEqual(r!.body.local.recentWrites.map((w: { id: string }) => w.id), [`${node.replica}/1`, `${node.replica}/2`])
  const p = r!.body.peers[0]
  assert.equal(p.peerId, peer.peerId)
  for (const field of ['peerId', 'state', 'missing', 'unidentified', 'lastExchange', 'lastError', 'lastHeard']) assert.ok(field in p, field)

  const t = await call('GET', `/v1/keys/${encodeURIComponent(key)}/trace?write=${encodeURIComponent(`${node.replica}/2`)}&timeout=500`)
  assert.equal(t.status, 200)
  assert.equal(t.body.status, 'ok')
  assert.deepEqual(t.body.peers.map((x: { peerId: string, holds: boolean }) => [x.peerId, x.holds]), [[node.peerId, true], [peer.peerId, true]])
  const unknown = await call('GET', `/v1/keys/${encodeURIComponent(key)}/trace?write=${encodeURIComponent(`${node.replica}/9`)}&timeout=300`)
  assert.equal(unknown.body.status, 'unknown_write')
  const elsewhere = await call('GET', `/v1/keys/${encodeURIComponent(key)}/trace?write=nobody/1&timeout=300`)
  assert.equal(elsewhere.body.status, 'writer_unreachable')
  assert.ok(elsewhere.body.peers.every((x: { holds: boolean | null }) => x.holds === null), 'without the write\'s delta no holder can be told')
})

test('bad requests are refused naming what was wrong', async () => {
  const bad: Array<[string, string, number, string, RegExp]> = [
    ['GET', '/v1/keys/k/inspect?timeout=soon', 400, 'bad_timeout', /timeout must be a whole number/],
    ['GET', '/v1/keys/k/inspect?timeout=30001', 400, 'bad_timeout', /30000/],
    ['GET', '/v1/keys/k/trace', 400, 'bad_write_id', /needs \?write=/],
    ['GET', '/v1/keys/k/trace?write=r%2F0', 400, 'bad_write_id', /"r\/0" is not REPLICA\/SEQ/],
    ['GET', '/v1/keys/k/trace?write=', 400, 'bad_write_id', /is not REPLICA\/SEQ/],
    ['POST', '/v1/keys/k/inspect', 405, 'method_not_allowed', /use GET/],
    ['GET', `/v1/keys/${'k'.repeat(1025)}/inspect`, 400, 'bad_key', /1024/]
  ]
  for (const [method, path, status, code, message] of bad) {
    const r = await call(method, path)
    assert.equal(r.status, status, `${path}: ${JSON.stringify(r.body)}`)
    assert.equal(r.body.error.code, code, path)
    assert.match(r.body.error.message, message, path)
  }
  assert.equal((await call('GET', '/v1/keys/k/inspect', null)).status, 401)
})

test('stopping the node ends an inspection waiting for answers at once: the caller gets 503, the store is not read closed', async () => {
  // Its own node and API: stopping them must not disturb the other tests.
  const own = await fx.start({})
  const ownApi = await startHttpApi(own, { host: '127.0.0.1', port: 0, token: TOKEN })
  try {
    const t0 = Date.now()
    const waiting = fetch(`${ownApi.url}/v1/keys/k/inspect?timeout=30000`, { headers: { authorization: `Bearer ${TOKEN}` } })
    await new Promise(resolve => setTimeout(resolve, 300))
    await own.stop()
    const res = await waiting
    assert.equal(res.status, 503)
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'unavailable')
    assert.ok(Date.now() - t0 < 15_000, `answered ${Date.now() - t0} ms after it began (its timeout was 30 s)`)
  } finally {
    await ownApi.close()
  }
})
