// Issue 11 §6: three honest daemons and a hostile peer process (test/helpers/hostile-peer.ts) that floods them
// with garbage gossip, forged states, heavy pushes, digests, session requests, wants and bad stream frames.
// The honest daemons converge on their honest writes, merge nothing hostile, the hostile peer's gossip score
// on an honest daemon falls message by message until it is graylisted, and a peer sending bad frames is hung
// up on and refused until its ban ends. A owns an owned key, B writes it, C reads it: forged changes of it
// (test/helpers/owned-forgeries.ts), gossiped and sent over streams, are merged nowhere and cost their senders.
import { test, after, before } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Plain } from '../../core/codec.ts'
import { generateSigningKey, ownedBinding } from '../../core/envelope/index.ts'
import type { OwnedState } from '../../core/envelope/state.ts'
import { createRegistry } from '../../contracts/index.ts'
import { type DaemonProcess, daemonFixtures, untilMeshed } from '../helpers/daemon-fixtures.ts'
import { type HostileProcess, startHostile } from '../helpers/hostile-process.ts'
import { until } from '../helpers/node-fixtures.ts'
import { OWNED_MODES, ownedForgeries, targetToString } from '../helpers/owned-forgeries.ts'
import { parseMetrics } from '../helpers/prometheus.ts'

/** gossipsub's graylist threshold in node/gossip-config.ts: below it, everything a peer sends is ignored. */
const GRAYLIST = -80
const BAN_SECONDS = 4

const fx = await daemonFixtures('hostile')
// A signs as an owned key's owner, B as its writer; C has no signing key (a reader).
const keysDir = await mkdtemp(join(tmpdir(), 'monoidb-forge-keys-'))
const [ka, kb] = [generateSigningKey(), generateSigningKey()]
let a: DaemonProcess, b: DaemonProcess, c: DaemonProcess
let hostile: HostileProcess
before(async () => {
  const [fa, fb] = await Promise.all([ka, kb].map(async (k, i) => {
    const file = join(keysDir, `k${i}.pem`)
    await writeFile(file, k.pem, { mode: 0o600 })
    return file
  }))
  a = await fx.start({ args: ['--replicate-all', '--peer-ban-seconds', String(BAN_SECONDS), '--signing-key', fa] })
  b = await fx.start({ args: ['--replicate-all', '--signing-key', fb], bootstrap: [a.info.multiaddrs[0]] })
  c = await fx.start({ args: ['--replicate-all'], bootstrap: [a.info.multiaddrs[0], b.info.multiaddrs[0]] })
  await untilMeshed([a, b, c], 15_000)
  hostile = await startHostile([a, b, c].map(d => d.info.multiaddrs[0]))
  await until('every daemon to see the hostile peer subscribed', async () => {
    for (const d of [a, b, c]) if (!(await d.client.peers()).some(p => p.peerId === hostile.peerId && p.subscribed)) return false
    return true
  }, 15_000)
}, { timeout: 60_000 })
after(async () => {
  await hostile?.stop()
  await fx.cleanup()
  await rm(keysDir, { recursive: true, force: true })
})

async function scoreOn (d: DaemonProcess, peer: string): Promise<number | null> {
  const p = (await d.client.peers()).find(x => x.peerId === peer) as { gossipScore?: number | null } | undefined
  return p?.gossipScore ?? null
}

async function stat (d: DaemonProcess, group: string, name: string): Promise<number> {
  const res = await fetch(`${d.info.api}/metrics`, { headers: { authorization: `Bearer ${d.info.token}` } })
  const fam = parseMetrics(await res.text()).get('monoidb_stats_total')
  return fam?.samples.find(s => s.labels.group === group && s.labels.name === name)?.value ?? 0
}

test('floods of garbage, forged and heavy gossip, digests, sessions and wants: honest writes converge, nothing hostile is merged', { timeout: 60_000 }, async t => {
  await a.client.update('victim/counter', 'g-counter', 'inc', [5])
  await until('B and C to hold the victim counter', async () => (await b.client.get('victim/counter'))?.value === 5 && (await c.client.get('victim/counter'))?.value === 5, 10_000)

  // One forged push first, which each daemon must reject as invalid (the flood below gets the peer banned
  // after its first few rejected messages, whichever they are).
  await hostile.run({ mode: 'forged', count: 1, keys: ['victim/counter'] })
  for (const d of [a, b, c]) await until('each daemon to reject the forged push', async () => await stat(d, 'host', 'invalidPushes') >= 1, 10_000)

  const flood = hostile.run({ mode: 'garbage,gossip-digests,wants,heavy-push,forged,wrong-topic,digests,ranges,sums', rate: 40, seconds: 6, keys: ['victim/counter'] })
  const started = Date.now()
  // Honest writes on each daemon while the flood runs; each must reach the other two.
  const writes: Array<{ on: DaemonProcess, key: string }> = []
  for (let i = 0; i < 30; i++) {
    const on = [a, b, c][i % 3]
    const key = `honest/${i}`
    await on.client.update(key, 'g-counter', 'inc', [i + 1])
    writes.push({ on, key })
    await new Promise(resolve => setTimeout(resolve, 100))
  }
  const converged = Date.now()
  await until('every honest write on every daemon', async () => {
    for (const d of [a, b, c]) for (const [i, w] of writes.entries()) if ((await d.client.get(w.key))?.value !== i + 1) return false
    return true
  }, 10_000)
  t.diagnostic(`honest writes converged ${Date.now() - converged} ms after the last one (flood started ${converged - started} ms before)`)
  const done = await flood
  t.diagnostic(`hostile flood: ${JSON.stringify(done)}`)
  assert.ok(done.sent >= 200, `the hostile peer sent only ${done.sent} messages`)

  for (const d of [a, b, c]) {
    assert.equal((await d.client.get('victim/counter'))?.value, 5, 'a forged counter state was merged')
    const keys = await d.client.keys()
    assert.deepEqual(keys.filter(k => !k.startsWith('honest/') && k !== 'victim/counter'), [], 'a key only the hostile peer sent was merged')
    assert.ok(await stat(d, 'host', 'gossipRejected') > 0, 'no gossip was rejected')
  }
  // The flooder was banned (hung up on, refused at connection) by every daemon for its rejected gossip or refused sessions.
  for (const d of [a, b, c]) assert.ok(await stat(d, 'host', 'refusalBans') >= 1, 'a daemon never banned the flooder')
  // The banned flooder keeps redialing from 127.0.0.1, spending the address's inbound allowance that the next tests' peers need.
  await hostile.stop()
})

test("the hostile peer's gossip score on an honest daemon falls with each rejected message until it is graylisted", { timeout: 40_000 }, async t => {
  // A hostile peer of its own (the first one's score is deep down after its flood), connected to B alone.
  const fresh = await startHostile([b.info.multiaddrs[0]])
  t.after(async () => { await fresh.stop() })
  const scoreOf = async (): Promise<number | null> => await scoreOn(b, fresh.peerId)
  const dials: unknown[] = []
  await until('B to see the new hostile peer subscribed', async () => {
    if ((await b.client.peers()).some(p => p.peerId === fresh.peerId && p.subscribed)) return true
    // Its first dial can be refused while B still sheds the banned flooder's sockets from this same address
    // (inbound sockets are limited per address): a command with nothing to send dials again.
    dials.push(await fresh.run({ mode: 'forged', count: 0 }))
    return false
  }, 20_000)
  if (dials.length > 0) t.diagnostic(`the new hostile peer dialed B again: ${JSON.stringify(dials)}`)
  const scores = [(await scoreOf())!]
  assert.equal(typeof scores[0], 'number', 'GET /v1/peers gives no gossipScore')
  assert.ok(scores[0] > -1, `a new peer starts with a score of ${scores[0]}`)
  while (scores.at(-1)! >= GRAYLIST && scores.length < 8) {
    const last = scores.at(-1)!
    await fresh.run({ mode: 'forged', count: 1, keys: ['victim/counter'] })
    await until('the score to fall', async () => ((await scoreOf()) ?? 0) < last - 1, 5_000)
    scores.push((await scoreOf())!)
  }
  t.diagnostic(`B's score of the hostile peer, one forged push at a time: ${scores.join(' → ')}`)
  // Graylisted, and banned: B hangs up on a peer that delivered 3 rejected messages (node/refusal-bans.ts).
  await until('B to hang up on the graylisted peer', async () => !(await b.client.peers()).some(p => p.peerId === fresh.peerId && p.connected), 5_000)
  for (let i = 1; i < scores.length; i++) assert.ok(scores[i] < scores[i - 1], `the score rose: ${scores.join(' → ')}`)
  assert.ok(scores.at(-1)! < GRAYLIST, `the score did not fall below the graylist threshold ${GRAYLIST}: ${scores.join(' → ')}`)
  assert.ok(scores.length <= 4, `it took ${scores.length - 1} forged messages to graylist the peer: ${scores.join(' → ')}`)
})

test('bad stream frames: the peer is hung up on and refused until its ban ends', { timeout: 40_000 }, async t => {
  // A hostile peer of its own, connected to A alone: its first ban lasts BAN_SECONDS (bans of a peer banned again soon last longer).
  const evil = await startHostile([a.info.multiaddrs[0]])
  t.after(async () => { await evil.stop() })
  await until('A to see the new hostile peer', async () => (await a.client.peers()).some(p => p.peerId === evil.peerId && p.connected), 15_000)
  const refusedBefore = await stat(a, 'host', 'framesRefused')
  const r = await evil.run({ mode: 'garbage-frame,oversize-frame,bad-prefix', count: 1 })
  t.diagnostic(`bad frames: ${JSON.stringify(r)}`)
  await until('A to hang up on the hostile peer', async () => !(await a.client.peers()).some(p => p.peerId === evil.peerId && p.connected), 5_000)
  assert.ok(await stat(a, 'host', 'framesRefused') >= refusedBefore + 3, 'A did not count the bad frames')
  // While banned, a new connection is refused.
  const dial = await evil.run({ mode: 'digests', count: 1 })
  assert.ok(dial.dialsRefused > r.dialsRefused, `the hostile peer could connect again while banned: ${JSON.stringify(dial)}`)
  assert.ok(!(await a.client.peers()).some(p => p.peerId === evil.peerId && p.connected), 'A took the banned peer back')
  // After the ban it may connect again (bans end).
  await new Promise(resolve => setTimeout(resolve, BAN_SECONDS * 1000))
  await until('the hostile peer to connect to A again after its ban', async () => {
    await evil.run({ mode: 'digests', count: 1 })
    return (await a.client.peers()).some(p => p.peerId === evil.peerId && p.connected)
  }, 10_000)
})

/** Refusals of `key` from `peer` in the journal of `d`, by reason. */
async function refusals (d: DaemonProcess, key: string, peer: string): Promise<string[]> {
  return (await d.client.journal({ key, peer })).records.flatMap(r => r.kind === 'refused' ? [r.reason] : [])
}

test('forged owned-key changes (a non-writer, an altered replay, a claimed owner, valid and forged parts mixed), gossiped and over streams: none is merged anywhere, honest writes converge, the forgers are charged', { timeout: 60_000 }, async t => {
  const KEY = 'owned/doc'
  const [A, B] = [ka.key.publicKey, kb.key.publicKey]
  await a.client.update(KEY, 'or-set', 'add', ['from-a'], { writers: [A, B] })
  await b.client.get(KEY, { wait: 10_000 })
  await b.client.update(KEY, 'or-set', 'add', ['from-b'])
  /** Each daemon's value (sorted) and writers. */
  const views = async (): Promise<string[]> => await Promise.all([a, b, c].map(async d => {
    const v = await d.client.get(KEY, { wait: 5_000 }).catch(() => undefined)
    return JSON.stringify({ value: [...(v?.value as string[] ?? [])].sort(), writers: v?.writers })
  }))
  const holds = async (want: string[]): Promise<boolean> => (await views()).every(v => want.every(w => v.includes(JSON.stringify(w))))
  await until('all three to hold the honest writes', async () => await holds(['from-a', 'from-b']), 15_000)

  // A change of B's that the hostile peer overheard (made here with B's key; no honest daemon ever sees it alone).
  const binding = ownedBinding(KEY, { id: 'or-set' }, [A, B])
  const contract = createRegistry().resolveBound(binding)
  const genuine = contract.ops.add(contract.empty(), ['overheard'], { replica: 'b-on-another-laptop', now: Date.now(), signer: kb.key }) as Plain as unknown as OwnedState
  const target = { key: KEY, binding, genuine, op: 'add', args: ['forged'] }
  const sent = ownedForgeries(target, generateSigningKey().key)
  // One hostile process per mode: a daemon bans a peer by its third rejected message, so each sends at most three.
  const targets = [a, b, c].map(d => d.info.multiaddrs[0])
  const modes = [...OWNED_MODES, 'owned-deltas']
  const hostiles = await Promise.all(modes.map(async () => await startHostile(targets, 30_000, { MONOIDB_HOSTILE_OWNED: targetToString(target) })))
  t.after(async () => { await Promise.all(hostiles.map(async h => { await h.stop() })) })
  await until('every daemon to see every forger subscribed', async () => {
    for (const d of [a, b, c]) {
      const peers = await d.client.peers()
      if (!hostiles.every(h => peers.some(p => p.peerId === h.peerId && p.subscribed))) return false
    }
    return true
  }, 20_000)

  const gossipers = OWNED_MODES.map((mode, i) => ({ mode, h: hostiles[i] }))
  const streamer = hostiles[modes.length - 1]
  const name = (d: DaemonProcess): string => d === a ? 'A' : d === b ? 'B' : 'C'
  await Promise.all(gossipers.map(async ({ mode, h }) => await h.run({ mode, count: sent[mode].length })))
  for (const d of [a, b, c]) {
    for (const { mode, h } of gossipers) {
      // Two at least: by the third, the peer is graylisted and what it sends may go unread.
      await until(`${name(d)} to refuse the ${mode} forgeries`, async () => (await refusals(d, KEY, h.peerId)).length >= 2, 10_000)
        .catch(async (err: Error) => { throw new Error(`${err.message} (A, B, C hold ${(await views()).join(', ')})`) })
      const reasons = await refusals(d, KEY, h.peerId)
      assert.ok(reasons.every(r => r === 'unauthorized_write'), `${name(d)} refused ${mode} forgeries for ${reasons.join(', ')}`)
      // Its gossip score falls (gossipsub refreshes scores on its heartbeat), or it is banned already.
      await until(`${name(d)}'s gossip score of the ${mode} forger to fall`, async () => {
        const p = (await d.client.peers()).find(x => x.peerId === h.peerId) as { connected?: boolean, gossipScore?: number | null } | undefined
        return p?.connected !== true || (p.gossipScore ?? 0) < 0
      }, 5_000)
    }
  }
  // The stream forger: each forged session `deltas` is a bad frame; by the third it is hung up on.
  await streamer.run({ mode: 'owned-deltas', count: 1 })
  for (const d of [a, b, c]) {
    await until(`${name(d)} to refuse the forged session deltas`, async () => (await refusals(d, KEY, streamer.peerId)).filter(r => r === 'unauthorized_write').length >= 3, 10_000)
    await until(`${name(d)} to hang up on the stream forger`, async () => !(await d.client.peers()).some(p => p.peerId === streamer.peerId && p.connected), 10_000)
  }
  const metrics = await (await fetch(`${c.info.api}/metrics`, { headers: { authorization: `Bearer ${c.info.token}` } })).text()
  const counted = parseMetrics(metrics).get('monoidb_deltas_total')?.samples.filter(s => s.labels.reason === 'unauthorized_write').reduce((n, s) => n + s.value, 0) ?? 0
  assert.ok(counted >= 2 * OWNED_MODES.length + 3, `C counted ${counted} unauthorized_write refusals`)

  // Nothing forged anywhere (no "forged", no "overheard" from the mixed state, B not revoked, no new writer); honest writes still converge.
  await a.client.update(KEY, 'or-set', 'add', ['after-a'])
  await b.client.update(KEY, 'or-set', 'add', ['after-b'])
  await until('all three to hold the later honest writes', async () => await holds(['after-a', 'after-b']), 15_000)
  const exact = JSON.stringify({ value: ['after-a', 'after-b', 'from-a', 'from-b'], writers: [A, B] })
  assert.deepEqual(await views(), [exact, exact, exact], 'A, B and C (in order) do not hold exactly the honest writes')
  t.diagnostic(`C counted ${counted} unauthorized_write refusals`)
})
