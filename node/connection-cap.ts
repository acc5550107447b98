/**
 * A cap on the connections an HTTP server holds, so strangers cannot spend
 * the process's file descriptors. Node's own `server.maxConnections` refuses
 * the *new* connection at the cap, which lets whoever holds half-open sockets
 * lock every client out. Here the new connection is kept and the oldest one
 * that is not serving a request is closed instead: one whose request headers
 * have not all arrived, or a keep-alive connection idle between requests
 * (its age counts from when its last response ended). Connections serving a
 * request, event streams included, are never closed by the cap; only when
 * every connection is serving one is the new connection refused.
 *
 * A client sends its headers right after connecting, so a stranger would have
 * to open `max` new sockets in that instant to push an honest request out.
 */
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import type { Server, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'

export interface ConnectionCapStats {
  /** Connections held now. */
  open: number
  /** Of those, connections not serving a request (the ones the cap may close). */
  waiting: number
  /** Connections closed to make room for a new one. */
  shed: number
  /** New connections refused because every held one was serving a request. */
  refused: number
}

export class ConnectionCap {
  readonly max: number
  readonly #all = new Set<Socket>()
  /** Connections not serving a request, oldest first (a Set iterates in insertion order). */
  readonly #waiting = new Set<Socket>()
  /** Requests in flight per connection serving any (pipelining can make it more than one). */
  readonly #busy = new Map<Socket, number>()
  #shed = 0
  #refused = 0

  constructor (max: number) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`maxConnections must be a whole number ≥ 1, got ${max}`)
    this.max = max
  }

  /** Starts counting `server`'s connections; call before it listens. */
  attach (server: Server): void {
    server.on('connection', (socket: Socket) => { this.#connected(socket) })
    server.on('request', (req, res) => { this.#requested(req.socket, res) })
  }

  stats (): ConnectionCapStats {
    return { open: this.#all.size, waiting: this.#waiting.size, shed: this.#shed, refused: this.#refused }
  }

  #connected (socket: Socket): void {
    if (this.#all.size >= this.max) {
      const oldest = this.#waiting.values().next()
      if (oldest.done === true) {
        this.#refused++
        socket.destroy()
        return
      }
      this.#shed++
      this.#forget(oldest.value)
      oldest.value.destroy()
    }
    this.#all.add(socket)
    this.#waiting.add(socket)
    socket.once('close', () => { this.#forget(socket) })
  }

  #requested (tlsOrRaw: Socket, res: ServerResponse): void {
    // Under HTTPS a request's socket is the TLSSocket over the TCP one 'connection' gave us (its _parent).
    const socket = this.#all.has(tlsOrRaw) ? tlsOrRaw : (tlsOrRaw as Socket & { _parent?: Socket })._parent
    if (socket === undefined || !this.#all.has(socket)) return
    this.#waiting.delete(socket)
    this.#busy.set(socket, (this.#busy.get(socket) ?? 0) + 1)
    res.once('close', () => {
      const left = (this.#busy.get(socket) ?? 1) - 1
      if (left > 0) { this.#busy.set(socket, left); return }
      this.#busy.delete(socket)
      // Idle keep-alive: it waits for the next request's headers, and counts as new at the back of the line.
      if (this.#all.has(socket) && !socket.destroyed) this.#waiting.add(socket)
    })
  }

  #forget (socket: Socket): void {
    this.#all.delete(socket)
    this.#waiting.delete(socket)
    this.#busy.delete(socket)
  }
}

/** Used when the process's descriptor limit cannot be read (it is 1,024 on most Linux systems). */
const ASSUMED_FD_LIMIT = 1_024

/**
 * The default cap: a quarter of the process's soft descriptor limit, from 64 to 1,024. The rest is
 * left for LevelDB's table files, libp2p's connections and everything else the daemon opens.
 */
export function defaultMaxConnections (fdLimit = processFdLimit()): number {
  return Math.max(64, Math.min(1_024, Math.floor(fdLimit / 4)))
}

/** The soft limit on open files (`ulimit -n`): /proc on Linux, else asked of a shell, else ASSUMED_FD_LIMIT. */
export function processFdLimit (): number {
  try {
    const m = /^Max open files\s+(\d+|unlimited)\s/m.exec(readFileSync('/proc/self/limits', 'utf8'))
    if (m !== null) return m[1] === 'unlimited' ? Infinity : Number(m[1])
  } catch { /* not Linux */ }
  try {
    // The shell inherits this process's limits.
    const out = execFileSync('/bin/sh', ['-c', 'ulimit -n'], { encoding: 'utf8', timeout: 2_000, stdio: ['ignore', 'pipe', 'ignore'] }).trim()
    if (out === 'unlimited') return Infinity
    if (/^\d+$/.test(out)) return Number(out)
  } catch { /* no shell (Windows) */ }
  return ASSUMED_FD_LIMIT
}
