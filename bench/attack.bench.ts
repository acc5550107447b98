/**
 * `npm run bench:attack` (issue 11 §4): two honest daemons, A writing at a
 * steady rate, and a hostile peer flooding garbage, digests, session requests,
 * wants, forged and heavy pushes (bench/attack-scenario.ts). Prints honest
 * write latency (A's ack → B's event) and GET /v1/status latency p50/p99,
 * convergence with and without the attack, and the daemons' worst event-loop
 * delay. Targets: write p99 ≤ 100 ms, convergence slowed at most 2×, event
 * loop ≤ 50 ms.
 * Flags: --seconds S (each latency phase, 10), --write-rate W (writes/s on A,
 * 20), --keys K (convergence keys, 200), --rate R (hostile messages/s per
 * mode, 200), --modes M (comma-separated, default DEFAULT_MODES; add
 * heavy-deltas for 1 MiB session states), --cpu-prof DIR (the daemons' CPU
 * profiles, written when they stop), --ban-seconds N (the daemons' ban length,
 * default 30: short bans let the flooder back sooner).
 */
import { cpus, loadavg } from 'node:os'
import { parseArgs } from 'node:util'
import { DEFAULT_MODES, type Phase, runAttack } from './attack-scenario.ts'

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    'write-rate': { type: 'string', default: '20' },
    keys: { type: 'string', default: '200' },
    rate: { type: 'string', default: '200' },
    modes: { type: 'string', default: DEFAULT_MODES },
    'cpu-prof': { type: 'string' },
    'ban-seconds': { type: 'string' }
  }
})
const num = (name: keyof typeof values): number => {
  const n = Number(values[name])
  if (!(n > 0)) { console.error(`--${name} must be a number above 0, got ${JSON.stringify(values[name])}`); process.exit(2) }
  return n
}

const started = Date.now()
const f = await runAttack({
  seconds: num('seconds'),
  writeRate: num('write-rate'),
  convergeKeys: num('keys'),
  attackRate: num('rate'),
  modes: values.modes,
  ...(values['cpu-prof'] === undefined ? {} : { cpuProfDir: values['cpu-prof'] }),
  ...(values['ban-seconds'] === undefined ? {} : { banSeconds: num('ban-seconds') }),
  log: line => { console.error(`[${((Date.now() - started) / 1000).toFixed(1)} s] ${line}`) }
})

const ms = (x: number): string => `${x.toFixed(1)} ms`
const row = (name: string, p: Phase): string =>
  `| ${name} | ${ms(p.write.p50)} | ${ms(p.write.p99)} | ${ms(p.write.max)} | ${p.missing} | ${ms(p.status.p50)} | ${ms(p.status.p99)} | ${ms(p.loopMaxMs)} | ${ms(p.loopP99Ms)} | ${(p.convergeMs / 1000).toFixed(2)} s | ${p.cpu.a}% / ${p.cpu.b}%${p.cpu.hostile === undefined ? '' : ` (hostile ${p.cpu.hostile}%)`} |`
console.log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, load ${loadavg().map(x => x.toFixed(2)).join(' ')}; node ${process.version}`)
console.log(`flood: ${values.modes} at ${values.rate}/s each; honest writes ${values['write-rate']}/s for ${values.seconds} s; ${values.keys} keys to converge`)
console.log('| phase | write p50 | write p99 | write max | writes lost | status p50 | status p99 | event loop max | event loop p99 | convergence | CPU A / B |')
console.log('|---|---|---|---|---|---|---|---|---|---|---|')
console.log(row('no attack', f.quiet))
console.log(row('under attack', f.attacked))
console.log(`convergence: ${(f.attacked.convergeMs / 1000).toFixed(2)} s under attack vs ${(f.convergeWithoutMs / 1000).toFixed(2)} s without (slower of before/after): ${f.convergeRatio.toFixed(2)}×`)
console.log(`A and B refused (host counters, summed): ${JSON.stringify(f.refused)}`)
const verdict = [
  [`write p99 ${ms(f.attacked.write.p99)} ≤ 100 ms`, f.attacked.write.p99 <= 100],
  [`convergence ${f.convergeRatio.toFixed(2)}× ≤ 2×`, f.convergeRatio <= 2],
  [`event loop max ${ms(f.attacked.loopMaxMs)} ≤ 50 ms`, f.attacked.loopMaxMs <= 50],
  ['no honest write lost', f.attacked.missing === 0]
] as const
for (const [what, ok] of verdict) console.log(`${ok ? 'met' : 'MISSED'}: ${what}`)
