// Preloaded into bench:net's journal-off daemons (`node --import`): the sync journal records nothing, the
// baseline its overhead is measured against (journal-overhead.ts). Never loaded by the shipped daemon.
import { Journal, type JournalEntry, type JournalRecord } from '../../core/sync/journal.ts'

Journal.prototype.record = function (entry: JournalEntry, at: number): JournalRecord {
  return { ...entry, n: 0, at } as JournalRecord
}
