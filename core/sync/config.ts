/** The sync engine's defaults, and the check of a configuration. */
import { MAX_MESSAGE_BYTES } from './messages.ts'
import { WANT_ANSWER_KEYS_PER_SECOND } from './partial-peers.ts'
import type { SyncConfig } from './types.ts'

export const DEFAULT_SYNC_CONFIG: Readonly<SyncConfig> = {
  pushWindowMs: 10,
  maxPushWindowMs: 50,
  maxMessageBytes: MAX_MESSAGE_BYTES,
  antiEntropyMs: 1000,
  maxSessions: 1,
  sessionTimeoutMs: 5000,
  peerSessionsPerPeriod: 4,
  peerBytesPerSec: 1024 * 1024,
  peerUnackedBytes: 8 * 1024 * 1024,
  wantKeysPerSec: WANT_ANSWER_KEYS_PER_SECOND
}

/** The defaults overridden by `partial`, or a TypeError naming the bad setting. */
export function resolveConfig (partial: Partial<SyncConfig> | undefined): SyncConfig {
  const c: SyncConfig = { ...DEFAULT_SYNC_CONFIG, ...partial }
  // A push window set alone grows to five times itself under load (0 stays 0: push at once, always).
  if (partial?.maxPushWindowMs === undefined) c.maxPushWindowMs = 5 * c.pushWindowMs
  for (const [name, v] of Object.entries(c)) {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new TypeError(`sync config ${name} must be a finite number ≥ 0, got ${String(v)}`)
  }
  if (c.maxMessageBytes < 1024 || c.maxMessageBytes > MAX_MESSAGE_BYTES) {
    throw new TypeError(`sync config maxMessageBytes must be between 1024 and ${MAX_MESSAGE_BYTES}, got ${c.maxMessageBytes}`)
  }
  if (c.maxPushWindowMs < c.pushWindowMs) throw new TypeError(`sync config maxPushWindowMs (${c.maxPushWindowMs}) must be at least pushWindowMs (${c.pushWindowMs})`)
  for (const name of ['peerSessionsPerPeriod', 'peerBytesPerSec', 'wantKeysPerSec'] as const) {
    if (c[name] <= 0) throw new TypeError(`sync config ${name} must be above 0 (a peer must be able to sync), got ${c[name]}`)
  }
  if (c.peerUnackedBytes < c.maxMessageBytes) throw new TypeError(`sync config peerUnackedBytes (${c.peerUnackedBytes}) must be at least maxMessageBytes (${c.maxMessageBytes})`)
  if (!Number.isSafeInteger(c.maxSessions)) throw new TypeError(`sync config maxSessions must be a whole number, got ${c.maxSessions}`)
  return c
}

/** How long an unacked session request waits before it is sent again: a fraction of a period, well under the session timeout. */
export function resendMs (c: SyncConfig): number {
  return Math.max(1, Math.min(c.antiEntropyMs / 4, c.sessionTimeoutMs / 4))
}
