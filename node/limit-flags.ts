/**
 * The daemon's flags for peer-side resource limits (README "Security",
 * "Resource limits"): each a whole number ≥ 1, mapped onto the node's
 * `limits` (node/peer-limit-options.ts) or its sync settings (PROTOCOL.md §10).
 */
import type { SyncConfig } from '../core/sync/types.ts'
import type { PeerLimitOptions } from './peer-limit-options.ts'

interface LimitFlag {
  /** Where the value goes: a PeerLimitOptions field, or a SyncConfig one. */
  to: { limits: keyof PeerLimitOptions } | { sync: keyof SyncConfig }
  /** The value given is in seconds; the setting is in ms. */
  seconds?: true
  usage: string
}

export const LIMIT_FLAGS: Record<string, LimitFlag> = {
  'max-peers': { to: { limits: 'maxPeers' }, usage: 'peers connected at once (default 300)' },
  'max-pending-peers': { to: { limits: 'maxPendingPeers' }, usage: 'inbound sockets still negotiating noise and yamux (default 64)' },
  'inbound-per-second': { to: { limits: 'inboundPerSecond' }, usage: 'new inbound sockets per second from one IP address (default 5)' },
  'peer-streams': { to: { limits: 'peerStreams' }, usage: 'sync streams one peer may have open to this daemon at once (default 4)' },
  'peer-strikes': { to: { limits: 'peerStrikes' }, usage: 'bad frames from one peer within a minute that get it banned (default 3)' },
  'peer-ban-seconds': { to: { limits: 'peerBanMs' }, seconds: true, usage: 'how long a banned peer\'s connections are refused (default 30)' },
  'peer-bytes-per-sec': { to: { sync: 'peerBytesPerSec' }, usage: 'bytes of answers one peer may cost per second (default 1048576)' },
  'peer-sessions': { to: { sync: 'peerSessionsPerPeriod' }, usage: 'sessions one peer may open per anti-entropy period (default 4)' },
  'peer-unacked-bytes': { to: { sync: 'peerUnackedBytes' }, usage: 'bytes of answers one peer may leave unacked (default 8388608)' },
  'want-keys-per-sec': { to: { sync: 'wantKeysPerSec' }, usage: 'keys answered per second over all peers\' wants (default 4096)' }
}

/** The parseArgs option specs of the limit flags. */
export const LIMIT_FLAG_OPTIONS = Object.fromEntries(Object.keys(LIMIT_FLAGS).map(f => [f, { type: 'string' as const }]))

export const LIMIT_USAGE = Object.entries(LIMIT_FLAGS).map(([f, d]) => `  --${f} N`.padEnd(25) + d.usage).join('\n')

/** The limits and sync settings the flags give, or an Error naming the flag and what it needs. */
export function parseLimitFlags (values: Record<string, unknown>): { limits: PeerLimitOptions, sync: Partial<SyncConfig> } {
  const limits: PeerLimitOptions = {}
  const sync: Partial<SyncConfig> = {}
  for (const [flag, d] of Object.entries(LIMIT_FLAGS)) {
    const text = values[flag]
    if (text === undefined) continue
    const n = typeof text === 'string' && /^\d{1,15}$/.test(text) ? Number(text) : NaN
    if (!(n >= 1)) throw new Error(`--${flag} ${JSON.stringify(text)} must be a whole number ≥ 1 (${d.usage})`)
    const v = d.seconds === true ? n * 1000 : n
    if ('limits' in d.to) limits[d.to.limits] = v
    else sync[d.to.sync] = v
  }
  return { limits, sync }
}
