/**
 * DIR/daemon.pid: one daemon per data folder. Taken by exclusive create; a file
 * left by a process that is gone (a crash, a SIGKILL) is taken over. LevelDB's
 * own lock backs this up, but this one can name the process holding the folder.
 */
import { open, readFile, unlink } from 'node:fs/promises'
import { join } from 'node:path'

export class PidLockHeld extends Error {
  readonly pid: number
  constructor (path: string, pid: number) {
    super(`data folder is in use by another monoidb daemon, pid ${pid} (${path}); stop it or pick another --data`)
    this.pid = pid
  }
}

export interface PidLock {
  readonly path: string
  /** Removes the pid file if it is still ours. */
  release: () => Promise<void>
}

/** Writes DIR/daemon.pid with this process's pid; throws PidLockHeld naming a live holder. */
export async function takePidLock (dir: string): Promise<PidLock> {
  const path = join(dir, 'daemon.pid')
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const file = await open(path, 'wx', 0o600)
      try { await file.writeFile(`${process.pid}\n`) } finally { await file.close() }
      return { path, release: async () => { if (await readPid(path) === process.pid) await unlink(path).catch(() => {}) } }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    }
    const holder = await readPid(path)
    if (holder !== undefined && holder !== process.pid && isAlive(holder)) throw new PidLockHeld(path, holder)
    // Stale (holder gone, or a half-written file): take it over. Another starter may race us to it; the retry's exclusive create settles that.
    await unlink(path).catch(err => { if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err })
  }
  throw new Error(`could not take ${path}: other processes keep creating it`)
}

async function readPid (path: string): Promise<number | undefined> {
  const text = await readFile(path, 'utf8').catch(() => undefined)
  const pid = Number(text?.trim())
  return Number.isInteger(pid) && pid > 0 ? pid : undefined
}

function isAlive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM' // exists, but another user's
  }
}
