// Owned keys: a key envelope that lets only its writers change a key, whatever its contract (PROTOCOL.md "Owned keys").
export { type SigningKey, generateSigningKey, signingKeyFromPem, parsePublicKey, formatPublicKey, verifySignature, verifyStats, clearVerifyCache } from './signing.ts'
export { OWNED, MAX_WRITERS, CKPT_MIN_BYTES, ownedBinding, ownedInfo, writerReplica, laneOf } from './owned-params.ts'
export { createOwned, withOwned, accessOf, withCheckpointBytes, type OwnedContract } from './owned.ts'
export { MAX_ENTRIES_AHEAD } from './validate.ts'
export type { OwnedState } from './state.ts'
export type { OwnedSummary } from './summary.ts'
