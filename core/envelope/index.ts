// Owned keys: a key envelope that lets only its writers change a key, whatever its contract (PROTOCOL.md "Owned keys").
export { type SigningKey, generateSigningKey, signingKeyFromPem, parsePublicKey, formatPublicKey, verifySignature, verifyStats, clearVerifyCache } from './signing.ts'
export { OWNED, MAX_WRITERS, CKPT_FANOUT, ownedBinding, ownedInfo, writerReplica, laneOf } from './owned-params.ts'
export { createOwned, withOwned, accessOf, withFanout, type OwnedContract } from './owned.ts'
export type { OwnedState } from './state.ts'
export type { OwnedSummary } from './summary.ts'
