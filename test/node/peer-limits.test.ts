// The libp2p side's connection limits (node/peer-limits.ts) hold on a real node: a stranger connecting
// from another address (127.0.0.2) and then staying silent, as fast as it can, holds at most
// INBOUND_PER_SECOND × (UPGRADE_TIMEOUT_MS / 1000 + 1) pending sockets, each closed after the upgrade
// timeout, and an honest peer still connects while the attack goes on.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { type Socket, connect } from 'node:net'
import { INBOUND_PER_SECOND, MAX_PENDING_INBOUND, UPGRADE_TIMEOUT_MS } from '../../node/peer-limits.ts'
import { nodeFixtures, until } from '../helpers/node-fixtures.ts'

const fx = await nodeFixtures('peer-limits')
const sockets: Socket[] = []
let attack: NodeJS.Timeout | undefined
after(async () => {
  clearInterval(attack)
  for (const s of sockets) s.destroy()
  await fx.cleanup()
})

interface Stranger { openedAt: number, closedAt?: number }

test('a silent stranger holds few pending sockets, each closed after the upgrade timeout; an honest peer still connects', { timeout: 30_000 }, async () => {
  const perAddress = INBOUND_PER_SECOND * (UPGRADE_TIMEOUT_MS / 1000 + 1)
  assert.ok(perAddress < MAX_PENDING_INBOUND, 'one address cannot fill the pending slots')
  const a = await fx.start({})
  const { port } = /\/tcp\/(?<port>\d+)/.exec(a.multiaddrs()[0])!.groups!
  const strangers: Stranger[] = []
  const t0 = performance.now()
  const open = (): void => {
    const s = connect({ host: '127.0.0.1', port: Number(port), localAddress: '127.0.0.2' })
    sockets.push(s)
    const st: Stranger = { openedAt: performance.now() - t0 }
    strangers.push(st)
    s.on('error', () => {})
    s.once('close', () => { st.closedAt = performance.now() - t0 })
  }
  attack = setInterval(open, 20) // 50 a second, ten times what one address may open
  // Held: open for over 500 ms (a refused socket is closed at once). Sampled all along.
  let mostHeld = 0
  const sample = setInterval(() => {
    const now = performance.now() - t0
    mostHeld = Math.max(mostHeld, strangers.filter(s => s.closedAt === undefined && now - s.openedAt > 500).length)
  }, 50)
  try {
    // With libp2p's defaults, 10 pending sockets (2 s of this) refuse every inbound peer from then on.
    await new Promise(resolve => setTimeout(resolve, 3_000))
    const b = await fx.start({ bootstrap: a.multiaddrs() })
    const dialled = performance.now()
    await until('the honest peer to connect during the attack', () => a.peers().some(p => p.peerId === b.peerId), 4_000)
    const connectMs = performance.now() - dialled
    await until('the first held stranger to be closed', () => strangers[0].closedAt !== undefined, UPGRADE_TIMEOUT_MS + 5_000)
    const firstLived = strangers[0].closedAt! - strangers[0].openedAt
    console.log(`# honest peer connected in ${connectMs.toFixed(0)} ms; the first stranger lived ${firstLived.toFixed(0)} ms; at most ${mostHeld} held at once, of ${strangers.length} opened`)
    assert.ok(firstLived >= UPGRADE_TIMEOUT_MS - 100 && firstLived < UPGRADE_TIMEOUT_MS + 3_000, `a silent socket is closed after the ${UPGRADE_TIMEOUT_MS} ms upgrade timeout: it lived ${firstLived.toFixed(0)} ms`)
    assert.ok(mostHeld >= 1 && mostHeld <= perAddress, `one address held at most ${perAddress} sockets: ${mostHeld}`)
    const refused = strangers.filter(s => s.closedAt !== undefined && s.closedAt - s.openedAt < 500).length
    assert.ok(refused > strangers.length / 2, `sockets past the rate were refused at once: ${refused} of ${strangers.length}`)
  } finally {
    clearInterval(attack)
    clearInterval(sample)
  }
})
