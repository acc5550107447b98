// The public surface of core/: what contract authors and the other rooms import.
export type { Contract, AnyContract, ContractRef, Op, OpContext } from './contract.ts'
export { ContractError, CodecError, type ContractErrorCode } from './errors.ts'
export { type JsonValue, type JsonObject, isJsonValue, jsonProblem } from './json.ts'
export { encode, decode, hash, canonicalKey, canonicalEqual, compareCanonical, type Plain, type DecodeLimits } from './codec.ts'
export { checkLaws, assertLaws, LAWS, DEFAULT_LAW_SEED, defaultValue, type LawName, type LawArbitraries, type LawInputs, type LawInputsById, type LawModel, type LawOptions, type LawReport, type LawFailure, type OpCall } from './laws.ts'
export { ContractRegistry, parseRef, type RegisterOptions } from './registry.ts'
export { type Storage, type BatchOp, type KeyRange, MemoryStorage } from './storage.ts'
// LevelStorage lives in './level-storage.ts' and is not re-exported here, so importing core/ never loads the native LevelDB binding.
export { ReplicaStore, type ReplicaStoreOptions, type KeyView, type UpdateOptions, type UpdateResult, type LoggedDelta, type RemoteDelta, type MergeOutcome, type StoreStats, type CommittedKey, type CommitListener } from './replica-store.ts'
export { type Change, type BoundRef, Subscription } from './subscription.ts'
export { type SigningKey, generateSigningKey, signingKeyFromPem, parsePublicKey, formatPublicKey, OWNED, ownedBinding, ownedInfo, accessOf, createOwned, withOwned } from './envelope/index.ts'
