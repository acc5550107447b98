// The kinds of damage a LevelDB store folder can take, shared by the storage, node and daemon tests: each one's
// refusal (what the DamagedStoreError names), whether it is found at open or only by the first read (LevelDB opens
// tables lazily), and how many of the test's 210 entries LevelDB's repair keeps (200 in a table, 10 in the log):
// all of them when only the folder's bookkeeping (CURRENT, MANIFEST) is damaged.
import assert from 'node:assert/strict'
import { readdir, truncate, unlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'

export interface Damage { name: string, damage: (path: string) => Promise<void>, refusal: RegExp, read?: true, kept: number }

export const damages: readonly Damage[] = [
  { name: 'MANIFEST missing', damage: async p => { await eachFile(p, /^MANIFEST-/, unlink) }, refusal: /cannot be opened as the database it was \(LevelDB: IO error: .*MANIFEST-\d+: No such file or directory\)/, kept: 210 },
  { name: 'MANIFEST garbage', damage: async p => { await eachFile(p, /^MANIFEST-/, async f => { await writeFile(f, 'y'.repeat(300)) }) }, refusal: /is corrupt \(LevelDB: Corruption: /, kept: 210 },
  { name: 'CURRENT missing', damage: async p => { await unlink(join(p, 'CURRENT')) }, refusal: /holds files but LevelDB finds no database in it \(its CURRENT file is missing/, kept: 210 },
  { name: 'CURRENT naming no file', damage: async p => { await writeFile(join(p, 'CURRENT'), 'garbage\n') }, refusal: /cannot be opened as the database it was \(LevelDB: IO error: .*\/garbage: No such file or directory\)/, kept: 210 },
  { name: 'CURRENT cut short', damage: async p => { await writeFile(join(p, 'CURRENT'), 'MANIFEST-0000') }, refusal: /is corrupt \(LevelDB: Corruption: CURRENT file does not end with newline\)/, kept: 210 },
  { name: 'a table missing', damage: async p => { await eachFile(p, /\.ldb$/, unlink) }, refusal: /is corrupt \(LevelDB: Corruption: \d+ missing files/, kept: 10 },
  { name: 'a table overwritten with garbage', damage: async p => { await eachFile(p, /\.ldb$/, async f => { await writeFile(f, 'x'.repeat(5000)) }) }, refusal: /is corrupt \(LevelDB: Corruption: not an sstable/, read: true, kept: 10 },
  { name: 'a table cut short', damage: async p => { await eachFile(p, /\.ldb$/, async f => { await truncate(f, 10) }) }, refusal: /is corrupt \(LevelDB: IO error: .*\.ldb: /, read: true, kept: 10 }
]

async function eachFile (path: string, name: RegExp, fn: (file: string) => Promise<void>): Promise<void> {
  const files = (await readdir(path)).filter(f => name.test(f))
  assert.ok(files.length > 0, `no file matching ${String(name)} to damage`)
  for (const f of files) await fn(join(path, f))
}
