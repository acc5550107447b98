// Preloaded into bench:net's journal-off daemons (`node --import`): their sync engines get no journal
// (SyncOptions.journal null), the baseline its overhead is measured against (journal-overhead.ts).
// Never loaded by the shipped daemon.
import { SyncEngine } from '../../core/sync/engine.ts'
import type { SyncOptions, SyncStore } from '../../core/sync/types.ts'

const create = SyncEngine.create.bind(SyncEngine)
SyncEngine.create = async (store: SyncStore, options: SyncOptions): Promise<SyncEngine> => await create(store, { ...options, journal: null })
