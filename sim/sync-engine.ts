// The engine the simulator runs: core's SyncEngine, the same code the daemon drives.
import { SyncEngine } from '../core/sync/engine.ts'
import type { EngineFactory } from './cluster.ts'

export const createSyncEngine: EngineFactory = async (store, options) => await SyncEngine.create(store, options)
