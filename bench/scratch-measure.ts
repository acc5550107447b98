import { decodeMessage, encodeMessage, MAX_MESSAGE_BYTES, MAX_GOSSIP_PUSH_BYTES } from '../core/sync/messages.ts'
import { createRegistry } from '../contracts/index.ts'
import { validated } from '../core/remote-merge.ts'
const reg = createRegistry()
function time (label: string, f: () => void) { const t = performance.now(); try { f() } catch (e) { } ; console.log(label, (performance.now() - t).toFixed(1), 'ms') }
function gsetState (n: number, bad: boolean) {
  const e = []; for (let i = 1; i <= n; i++) e.push([0, ['a', i]])
  return { e, c: [['a', [1, n + (bad ? 1 : 0)]]] }
}
function gcounter (n: number, bad: boolean) {
  const out = []; for (let i = 0; i < n; i++) out.push(['r' + i.toString(36).padStart(4, '0'), 1])
  if (bad) out.push(['zzzzzz', 0])
  return out
}
for (const [name, mk, contract] of [['g-set', gsetState, 'g-set'], ['or-set', gsetState, 'or-set'], ['g-counter', gcounter, 'g-counter']] as const) {
  for (const cap of [MAX_GOSSIP_PUSH_BYTES, MAX_MESSAGE_BYTES]) {
    let n = 1000
    let bytes: Uint8Array
    for (;;) { const m = encodeMessage({ type: 'deltas', sid: { n: 1, fromInitiator: true }, seq: 0, check: false, items: [{ key: 'k', contract: { id: contract }, delta: mk(n * 2, true) as any }] }); if (m.length > cap - 100) break; n *= 2 }
    bytes = encodeMessage({ type: 'deltas', sid: { n: 1, fromInitiator: true }, seq: 0, check: false, items: [{ key: 'k', contract: { id: contract }, delta: mk(n, true) as any }] })
    let msg: any
    time(`${name} ${n} entries ${bytes.length} B decode`, () => { msg = decodeMessage(bytes) })
    const c = reg.resolveBound({ id: contract })
    time(`${name} validate`, () => validated(c, 'k', msg.items[0].delta))
  }
}
import { costlyPush, costlyDeltas } from '../test/helpers/hostile-messages.ts'
for (const b of [costlyPush(65000), costlyDeltas(1024*1024-64)]) {
  let msg: any
  time(`costly ${b.length} decode`, () => { msg = decodeMessage(b) })
  time(`costly validate`, () => validated(reg.resolveBound({ id: 'g-set' }), 'k', msg.items[0].delta))
  time(`costly validate again`, () => validated(reg.resolveBound({ id: 'g-set' }), 'k', msg.items[0].delta))
}
