// The public surface of core/: what contract authors and the other rooms import.
export type { Contract, AnyContract, ContractRef, Op, OpContext } from './contract.ts'
export { ContractError, CodecError, type ContractErrorCode } from './errors.ts'
export { type JsonValue, type JsonObject, isJsonValue, jsonProblem } from './json.ts'
export { encode, decode, hash, canonicalKey, canonicalEqual, compareCanonical, type Plain, type DecodeLimits } from './codec.ts'
export { checkLaws, assertLaws, LAWS, type LawName, type LawArbitraries, type LawOptions, type LawReport, type LawFailure } from './laws.ts'
export { ContractRegistry, parseRef, type RegisterOptions } from './registry.ts'
