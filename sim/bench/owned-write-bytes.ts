/**
 * What owned keys cost (core/envelope/): wire bytes of a pushed delta of one write, owned minus unowned, for a
 * g-counter inc and an or-set add (a key's second write, by a writer named in the params and by a granted
 * one); and the time to verify a signature, uncached and from the cache.
 *   ./node_modules/.bin/node sim/bench/owned-write-bytes.ts
 */
import { randomBytes } from 'node:crypto'
import { createRegistry } from '../../contracts/index.ts'
import { encode } from '../../core/codec.ts'
import { clearVerifyCache, generateSigningKey, verifySignature } from '../../core/envelope/index.ts'
import type { JsonValue } from '../../core/json.ts'
import { ReplicaStore } from '../../core/replica-store.ts'
import { MemoryStorage } from '../../core/storage.ts'
import { encodeMessage } from '../../core/sync/messages.ts'

const owner = generateSigningKey().key
const writer = generateSigningKey().key
const granted = generateSigningKey().key
const store = await ReplicaStore.open({ storage: new MemoryStorage(), registry: createRegistry(), replica: randomBytes(12).toString('hex') })

async function pushBytes (key: string, contract: string, op: string, args: JsonValue[], owned: boolean, signer = writer): Promise<{ delta: number, push: number }> {
  const writers = [owner.publicKey, writer.publicKey]
  await store.update(key, contract, op, args, owned ? { signer: owner, writers } : {})
  if (owned && signer === granted) await store.update(key, contract, '@writers', [{ grant: [granted.publicKey] }], { signer: owner })
  const r = await store.update(key, contract, op, args.length > 0 ? ['second'] : args, owned ? { signer } : {})
  const push = encodeMessage({ type: 'push', items: [{ key, contract: r.contract, delta: r.delta! }] } as never)
  return { delta: encode(r.delta).length, push: push.length }
}

for (const [contract, op, args] of [['g-counter', 'inc', []], ['or-set', 'add', ['first']]] as const) {
  const plain = await pushBytes(`plain-${contract}`, contract, op, [...args], false)
  const owned = await pushBytes(`owned-${contract}`, contract, op, [...args], true)
  const byGrant = await pushBytes(`granted-${contract}`, contract, op, [...args], true, granted)
  console.log(`${contract} ${op}: unowned delta ${plain.delta} B, push ${plain.push} B; owned delta ${owned.delta} B (+${owned.delta - plain.delta}), push ${owned.push} B (+${owned.push - plain.push}, of which the binding's params in the push's ref); granted writer's delta ${byGrant.delta} B (+${byGrant.delta - plain.delta}: it carries its grant)`)
}
await store.close()

const msg = randomBytes(120)
const pub = Buffer.from(writer.publicKey.slice('ed25519:'.length), 'base64url')
const sigs = Array.from({ length: 500 }, (_, i) => writer.sign(Buffer.concat([msg, Buffer.of(i & 255, i >> 8)])))
clearVerifyCache()
let t = performance.now()
for (let i = 0; i < sigs.length; i++) verifySignature(pub, Buffer.concat([msg, Buffer.of(i & 255, i >> 8)]), sigs[i])
const uncached = (performance.now() - t) / sigs.length
t = performance.now()
for (let i = 0; i < sigs.length; i++) verifySignature(pub, Buffer.concat([msg, Buffer.of(i & 255, i >> 8)]), sigs[i])
const cached = (performance.now() - t) / sigs.length
console.log(`verify: ${(uncached * 1000).toFixed(0)} µs uncached, ${(cached * 1000).toFixed(1)} µs from the cache (${sigs.length} signatures)`)

// Validating a whole state: 16 writers (params), each with 2 lanes of or-set adds, uncached then cached.
{
  const { ownedBinding, createOwned } = await import('../../core/envelope/index.ts')
  const { decode } = await import('../../core/codec.ts')
  const registry = createRegistry()
  const ws = Array.from({ length: 16 }, () => generateSigningKey().key)
  const b = ownedBinding('big', { id: 'or-set' }, ws.map(w => w.publicKey))
  const c: import('../../core/contract.ts').AnyContract = createOwned(ref => registry.resolve(ref)).withParams!(b.params!)
  let s: unknown = c.empty()
  let signatures = 0
  for (let round = 0; round < 15; round++) {
    for (const [i, w] of ws.entries()) {
      for (const lane of ['lane-a', 'lane-b']) {
        const d = c.ops.add(s, [`${i}-${lane}-${round}`], { replica: `${lane}-${i}`, now: Date.now(), signer: w })
        s = c.merge(s, d)
      }
    }
  }
  for (const blk of (s as { w: Array<[unknown, unknown, unknown, unknown[], unknown[]]> }).w) signatures += blk[3].length + blk[4].length
  const bytes = encode(s)
  clearVerifyCache()
  let t0 = performance.now()
  c.validate(decode(bytes, { maxBytes: 1 << 26 }))
  const cold = performance.now() - t0
  t0 = performance.now()
  c.validate(decode(bytes, { maxBytes: 1 << 26 }))
  const warm = performance.now() - t0
  console.log(`validate: a state of 16 writers × 2 lanes (${signatures} signatures, ${bytes.length} B): ${cold.toFixed(0)} ms uncached, ${warm.toFixed(1)} ms cached`)
}
