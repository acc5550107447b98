// Owned keys through real nodes (LevelDB on disk, libp2p on loopback) and their HTTP APIs: creating one with
// writers, what GET and events show, grant and revoke by the owner, and the 403s that write and send nothing.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { access } from 'node:fs/promises'
import { generateSigningKey } from '../../core/envelope/index.ts'
import { type HttpApi, startHttpApi } from '../../node/http-api.ts'
import type { MonoidbNode } from '../../node/node.ts'
import { hasSubscribedPeer, nodeFixtures, until } from '../helpers/node-fixtures.ts'
import { openSse } from '../helpers/sse.ts'

const TOKEN = 'owned-node-token-0123456789'
const fx = await nodeFixtures('owned-node')
const alice = generateSigningKey()
const bob = generateSigningKey()
const carol = generateSigningKey()
const A = alice.key.publicKey
const B = bob.key.publicKey
const C = carol.key.publicKey
let a: MonoidbNode // signs as Alice, the owner
let b: MonoidbNode // signs as Bob, a writer
let c: MonoidbNode // signs as Carol, never a writer
let n: MonoidbNode // no signing key
const apis: HttpApi[] = []
let apiA: HttpApi, apiB: HttpApi, apiC: HttpApi, apiN: HttpApi

before(async () => {
  a = await fx.start({ signingKey: alice.pem }) // a PEM string works as well as a SigningKey
  b = await fx.start({ signingKey: bob.key, bootstrap: a.multiaddrs() })
  c = await fx.start({ signingKey: carol.key, bootstrap: a.multiaddrs() })
  n = await fx.start({ bootstrap: a.multiaddrs() })
  for (const node of [a, b, c, n]) apis.push(await startHttpApi(node, { host: '127.0.0.1', port: 0, token: TOKEN }))
  ;[apiA, apiB, apiC, apiN] = apis
  await until('the nodes to mesh with A', () => [b, c, n].every(x => hasSubscribedPeer(a, x) && hasSubscribedPeer(x, a)), 15_000)
})
after(async () => {
  for (const api of apis) await api.close()
  await fx.cleanup()
})

interface Reply { status: number, body: any }

async function call (api: HttpApi, method: string, path: string, json?: unknown): Promise<Reply> {
  const res = await fetch(api.url + path, { method, headers: { authorization: `Bearer ${TOKEN}` }, body: json === undefined ? undefined : JSON.stringify(json) })
  const text = await res.text()
  return { status: res.status, body: text === '' ? undefined : JSON.parse(text) }
}

function assertError (r: Reply, status: number, code: string, pattern: RegExp, what: string): void {
  assert.equal(r.status, status, `${what}: ${JSON.stringify(r.body)}`)
  assert.equal(r.body?.error?.code, code, what)
  assert.match(r.body.error.message, pattern, what)
}

const sorted = (x: unknown): string => JSON.stringify(Array.isArray(x) ? [...x].sort() : x)

test('a write naming writers creates an owned key; GET, the answer and events show the inner contract, owner and writers', { timeout: 30_000 }, async () => {
  assert.equal(a.publicKey, A)
  assert.equal((await call(apiA, 'GET', '/v1/status')).body.publicKey, A)
  assert.equal((await call(apiN, 'GET', '/v1/status')).body.publicKey, null)
  const dir = fx.folder()
  await assert.rejects(fx.start({ dataDir: dir, signingKey: 'secret-ish garbage' }), (err: Error) => err instanceof TypeError && /signingKey must be an Ed25519 PKCS#8 private key/.test(err.message) && !err.message.includes('garbage'))
  await assert.rejects(access(dir), /ENOENT/, 'a bad signing key is refused before the data folder is made')

  const events = a.subscribe('doc')
  const r = await call(apiA, 'POST', '/v1/keys/doc', { contract: 'or-set', op: 'add', args: ['intro'], writers: [A, B] })
  assert.equal(r.status, 200, JSON.stringify(r.body))
  assert.deepEqual({ ...r.body, write: typeof r.body.write }, { key: 'doc', contract: { id: 'or-set' }, value: ['intro'], write: 'string', owner: A, writers: [A, B] })
  assert.deepEqual((await call(apiA, 'GET', '/v1/keys/doc')).body, { key: 'doc', contract: { id: 'or-set' }, value: ['intro'], owner: A, writers: [A, B] })
  for await (const e of events) {
    assert.deepEqual({ contract: e.contract, owner: e.owner, writers: e.writers, origin: e.origin }, { contract: { id: 'or-set' }, owner: A, writers: [A, B], origin: 'local' })
    break
  }
  // Stored and sent under the envelope, which names the key and its writers.
  const held = await a.loggedWrites('doc')
  assert.equal(held.length, 1)
  assert.deepEqual(Object.keys(held[0].delta as object).sort(), ['a', 'w'], 'the logged delta is an owned state (access records, writer blocks)')

  // Later writes name the contract as apps always do: the key's and the all-keys event streams show them the same way.
  const keyEvents = await openSse(`${apiA.url}/v1/keys/doc/events`, { authorization: `Bearer ${TOKEN}` })
  const allEvents = await openSse(`${apiA.url}/v1/events`, { authorization: `Bearer ${TOKEN}` })
  try {
    await keyEvents.until('the current value', blocks => blocks.length >= 1)
    await allEvents.until('the start id', blocks => blocks.length >= 1)
    assert.deepEqual((await call(apiA, 'POST', '/v1/keys/doc', { contract: 'or-set', op: 'add', args: ['body'] })).body.value.sort(), ['body', 'intro'])
    await keyEvents.until('the change', blocks => blocks.length >= 2)
    await allEvents.until('the change', blocks => blocks.some(x => x.data !== undefined))
    const shown = (d: any): unknown => ({ contract: d.contract, owner: d.owner, writers: d.writers })
    const expected = { contract: { id: 'or-set' }, owner: A, writers: [A, B] }
    assert.deepEqual(shown(keyEvents.blocks[0].data), expected, 'a key stream\'s first event')
    assert.deepEqual(shown(keyEvents.blocks[1].data), expected, 'a key stream\'s change')
    assert.deepEqual(shown(allEvents.blocks.find(x => x.data !== undefined)!.data), expected, 'the all-keys stream')
  } finally {
    keyEvents.close()
    allEvents.close()
  }
  assertError(await call(apiA, 'POST', '/v1/keys/doc', { contract: 'or-set', op: 'add', args: ['x'], writers: [A] }), 409, 'contract_mismatch', /has writers/, 'other writers')
  assertError(await call(apiA, 'POST', '/v1/keys/doc', { contract: 'g-counter', op: 'inc', args: [1] }), 409, 'contract_mismatch', /or-set|g-counter/, 'another contract')
})

test('bad owned-key requests are refused naming what was wrong, and change nothing', { timeout: 20_000 }, async () => {
  const before = await call(apiA, 'GET', '/v1/keys/doc')
  assertError(await call(apiA, 'POST', '/v1/keys/bad1', { contract: 'or-set', op: 'add', args: ['x'], writers: 'nope' }), 400, 'bad_args', /"writers" must be a non-empty array of public keys/, 'writers not a list')
  assertError(await call(apiA, 'POST', '/v1/keys/bad1', { contract: 'or-set', op: 'add', args: ['x'], writers: [] }), 400, 'bad_args', /"writers" must be a non-empty array/, 'no writers')
  assertError(await call(apiA, 'POST', '/v1/keys/bad1', { contract: 'or-set', op: 'add', args: ['x'], writers: [A, 'ed25519:abc'] }), 400, 'bad_args', /"writers"\[1\], "ed25519:abc", is not a public key/, 'a bad key')
  assertError(await call(apiA, 'POST', '/v1/keys/bad1', { contract: 'or-set', op: 'add', args: ['x'], writers: [A, A] }), 400, 'bad_args', /listed twice/, 'a key twice')
  assertError(await call(apiA, 'POST', '/v1/keys/bad1', { contract: 'or-set', op: 'add', args: ['x'], writers: [B] }), 403, 'unauthorized_write', /is not a writer/, 'the daemon\'s own key not among the writers')
  assert.equal((await call(apiA, 'GET', '/v1/keys/bad1?wait=0')).status, 404, 'no key made')

  assertError(await call(apiA, 'POST', '/v1/keys/doc/writers', { grant: [C], revoke: [B] }), 400, 'bad_request', /\{"grant":\[PUBKEY,…\]\} or \{"revoke":\[PUBKEY,…\]\}/, 'both')
  assertError(await call(apiA, 'POST', '/v1/keys/doc/writers', { add: [C] }), 400, 'bad_request', /got field\(s\) "add"/, 'unknown field')
  assertError(await call(apiA, 'POST', '/v1/keys/doc/writers', { grant: [C], freeze: 'none' }), 400, 'bad_request', /"freeze" goes with "revoke"/, 'freeze with a grant')
  assertError(await call(apiA, 'POST', '/v1/keys/doc/writers', { revoke: [B], freeze: 'some' }), 400, 'bad_request', /"all" or "none", got "some"/, 'a bad freeze')
  assertError(await call(apiA, 'POST', '/v1/keys/doc/writers', [C]), 400, 'bad_request', /the body must be/, 'not an object')
  assertError(await call(apiA, 'POST', '/v1/keys/doc/writers', { grant: ['ed25519:' + 'A'.repeat(42)] }), 400, 'bad_args', /"grant"\[0\].*is not a public key/, 'bad key')
  assertError(await call(apiA, 'GET', '/v1/keys/doc/writers'), 405, 'method_not_allowed', /use POST/, 'GET')
  assertError(await call(apiA, 'POST', '/v1/keys/nowhere/writers', { grant: [C] }), 404, 'not_found', /not held here/, 'a key not held')
  await call(apiA, 'POST', '/v1/keys/plain', { contract: 'g-counter', op: 'inc', args: [1] })
  assertError(await call(apiA, 'POST', '/v1/keys/plain/writers', { grant: [C] }), 409, 'contract_mismatch', /not an owned key/, 'an unowned key')
  assertError(await call(apiA, 'POST', '/v1/keys/plain', { contract: 'g-counter', op: 'inc', args: [1], writers: [A] }), 409, 'contract_mismatch', /not owned/, 'writers for an unowned key')
  assert.deepEqual(await call(apiA, 'GET', '/v1/keys/doc'), before, 'doc unchanged')
})

test('the owner grants and revokes; a writer writes; a non-owner\'s grant and a non-writer\'s write are 403 and write and send nothing', { timeout: 60_000 }, async () => {
  // The other nodes learn the key as any reader does.
  for (const api of [apiB, apiC, apiN]) assert.equal((await call(api, 'GET', '/v1/keys/doc?wait=10000')).status, 200)

  // Bob is a writer: his write is signed by him, and reaches Alice.
  const w = await call(apiB, 'POST', '/v1/keys/doc', { contract: 'or-set', op: 'add', args: ['bob'] })
  assert.equal(w.status, 200, JSON.stringify(w.body))
  assert.deepEqual({ owner: w.body.owner, writers: w.body.writers }, { owner: A, writers: [A, B] })
  await until('Bob\'s write to reach Alice', async () => (await a.get('doc'))?.value?.toString().includes('bob') === true, 15_000)

  // Bob is not the owner; Carol and the keyless node are not writers.
  const refused = async (api: HttpApi, node: MonoidbNode, request: () => Promise<Reply>, pattern: RegExp, what: string): Promise<void> => {
    const value = (await node.get('doc'))?.value
    const updates = node.stats().store.updates
    const written = node.journal.query({ key: 'doc' }).filter(r => r.kind === 'written').length
    assertError(await request(), 403, 'unauthorized_write', pattern, what)
    assert.deepEqual((await node.get('doc'))?.value, value, `${what}: nothing stored`)
    assert.equal(node.stats().store.updates, updates, `${what}: no update made`)
    assert.equal(node.journal.query({ key: 'doc' }).filter(r => r.kind === 'written').length, written, `${what}: nothing written, so nothing pushed`)
    assert.deepEqual((await node.loggedWrites('doc')).length, written, `${what}: no delta logged to send`)
  }
  await refused(apiB, b, async () => await call(apiB, 'POST', '/v1/keys/doc/writers', { grant: [C] }), /only the owner|owner/, 'Bob grants')
  await refused(apiC, c, async () => await call(apiC, 'POST', '/v1/keys/doc', { contract: 'or-set', op: 'add', args: ['carol'] }), /is not a writer of key "doc"/, 'Carol writes')
  await refused(apiC, c, async () => await call(apiC, 'POST', '/v1/keys/doc/writers', { revoke: [B] }), /owner/, 'Carol revokes')
  await refused(apiN, n, async () => await call(apiN, 'POST', '/v1/keys/doc', { contract: 'or-set', op: 'remove', args: ['intro'] }), /needs a signing key/, 'a node without a key writes')

  // Alice grants Carol: Carol's daemon then writes.
  const g = await call(apiA, 'POST', '/v1/keys/doc/writers', { grant: [C] })
  assert.deepEqual(g, { status: 200, body: { key: 'doc', owner: A, writers: [A, B, C] } })
  assert.deepEqual((await call(apiA, 'GET', '/v1/keys/doc')).body.writers, [A, B, C])
  await until('Carol to learn she is a writer', async () => sorted((await c.get('doc'))?.writers) === sorted([A, B, C]), 15_000)
  assert.equal((await call(apiC, 'POST', '/v1/keys/doc', { contract: 'or-set', op: 'add', args: ['carol'] })).status, 200)
  // A revoke keeps what the owner had seen of the writer (those it had not are left out everywhere).
  await until('Carol\'s write to reach Alice', async () => (await a.get('doc'))?.value?.toString().includes('carol') === true, 15_000)

  // Alice revokes Bob and Carol; the owner cannot be revoked.
  assertError(await call(apiA, 'POST', '/v1/keys/doc/writers', { revoke: [A] }), 400, 'bad_args', /owner/, 'revoking the owner')
  assert.deepEqual((await call(apiA, 'POST', '/v1/keys/doc/writers', { revoke: [B, C] })).body, { key: 'doc', owner: A, writers: [A] })
  assert.deepEqual((await call(apiA, 'GET', '/v1/keys/doc')).body.writers, [A])
  await until('Bob to learn he was revoked', async () => sorted((await b.get('doc'))?.writers) === sorted([A]), 15_000)
  await refused(apiB, b, async () => await call(apiB, 'POST', '/v1/keys/doc', { contract: 'or-set', op: 'add', args: ['late'] }), /is not a writer/, 'revoked Bob writes')
  await until('all four to converge', async () => {
    const views = await Promise.all([a, b, c, n].map(async x => sorted((await x.get('doc'))?.value)))
    return views.every(v => v === views[0])
  }, 15_000)
  assert.equal(sorted((await a.get('doc'))?.value), sorted(['intro', 'body', 'bob', 'carol']))
})
