/**
 * The peer daemon, as far as it goes today: it opens the replica store on
 * LevelDB in the data folder and holds it until SIGINT/SIGTERM, then closes it
 * cleanly. Networking, the HTTP API and the CLI come with the daemon issue.
 */
import { mkdir } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { createRegistry } from '../contracts/index.ts'
import { LevelStorage } from '../core/level-storage.ts'
import { ReplicaStore } from '../core/replica-store.ts'

const USAGE = `usage: monoidb daemon [--data DIR]

  --data DIR   data folder (default ./.monoidb); the store is LevelDB in DIR/store
  --help       show this text`

function parse (argv: string[]): { data: string } {
  try {
    const { values } = parseArgs({ args: argv, options: { data: { type: 'string', default: './.monoidb' }, help: { type: 'boolean' } }, strict: true, allowPositionals: false })
    if (values.help === true) { console.log(USAGE); process.exit(0) }
    return { data: resolve(values.data) }
  } catch (err) {
    console.error(`monoidb daemon: ${(err as Error).message}\n${USAGE}`)
    process.exit(2)
  }
}

async function main (): Promise<void> {
  const { data } = parse(process.argv.slice(2))
  await mkdir(data, { recursive: true, mode: 0o700 })
  let store: ReplicaStore
  try {
    store = await ReplicaStore.open({ storage: await LevelStorage.open(join(data, 'store')), registry: createRegistry() })
  } catch (err) {
    console.error(`monoidb daemon: ${(err as Error).message}`)
    process.exit(1)
  }
  const keys = (await store.keys()).length
  console.log(`monoidb replica ${store.replica} ready: ${keys} keys in ${join(data, 'store')} (local only; networking is not built yet)`)
  let stopping = false
  const stop = (): void => {
    if (stopping) return
    stopping = true
    store.close().then(() => process.exit(0), err => { console.error(`monoidb daemon: closing the store failed: ${(err as Error).message}`); process.exit(1) })
  }
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
  setInterval(() => {}, 1 << 30) // keep the event loop alive until a signal arrives
}

await main()
