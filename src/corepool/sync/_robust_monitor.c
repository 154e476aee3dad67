/* corepool.sync._robust: the monitor's journal protocol (as _monitor.py), for the C fast paths
   of SemaphoreCore and EventCore.

   A change of several fields first saves each old value in the journal: the (index, old
   value) pair, then the journal length (a torn entry is never replayed); commit() empties the
   journal (monitor_journal, monitor_commit, in _robust.h).  A process killed inside a change
   leaves the mutex EOWNERDEAD and the journal behind; whoever enters next puts the old values
   back (monitor_roll_back, called by monitor_try_enter), from C or from Python, as if the change had never begun.  Fields
   are `volatile` so that the compiler keeps the stores in this order: a SIGKILL lands between
   two instructions of the program as written.  Their visibility to the next holder is ordered
   by the mutex (the kernel's robust-list release of a dead holder is a full barrier). */

#include "_robust.h"

/* _monitor.Monitor.roll_back; entries outside the fields are skipped, never written. */
void
monitor_roll_back(field_t *fields, int64_t field_count)
{
    int64_t length = fields[MONITOR_SNAP_LENGTH], start = fields[MONITOR_SNAP_START];
    if (length > 0 && length <= MONITOR_SNAPSHOT_WORDS && start >= 0 &&
        start + length <= field_count) {
        for (int64_t i = 0; i < length; i++) {
            fields[start + i] = fields[MONITOR_SNAPSHOT + i];
        }
    }
    fields[MONITOR_SNAP_LENGTH] = 0;
    int64_t entries = fields[MONITOR_JOURNAL_LENGTH];
    for (int64_t entry = entries - 1; entry >= 0; entry--) {
        if (entry >= MONITOR_JOURNAL_ENTRIES) {
            continue;
        }
        int64_t index = fields[MONITOR_JOURNAL + 2 * entry];
        if (index >= 0 && index < field_count) {
            fields[index] = fields[MONITOR_JOURNAL + 2 * entry + 1];
        }
    }
    fields[MONITOR_JOURNAL_LENGTH] = 0;
}
