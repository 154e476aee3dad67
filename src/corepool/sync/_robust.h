/* corepool.sync._robust: what the extension's files share (private; see _robust_module.c).

   _robust_waiting.c    clocks, timed locking in slices, timeouts
   _robust_core.c       the object every core type is: attach a segment, parse acquire()
   _robust_locks.c      LockCore, RLockCore
   _robust_monitor.c    the monitor's journal protocol (as _monitor.py), entering a monitor
   _robust_semaphore.c  SemaphoreCore
   _robust_event.c      EventCore
   _robust_module.c     the diagram, module functions on a mutex address, module init
*/

#ifndef COREPOOL_ROBUST_H
#define COREPOOL_ROBUST_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>

#ifndef __linux__
#error "corepool.sync._robust needs Linux (futexes); corepool falls back to ctypes elsewhere"
#endif
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The functions below are shared between this extension's files only: not exported from the
   shared object (the Python interpreter finds PyInit__robust, which PyMODINIT_FUNC exports). */
#pragma GCC visibility push(hidden)

/* Room for the mutex at the start of every segment (as _native.MUTEX_BYTES). */
#define MUTEX_BYTES 64

/* -- who this process is: pushed by Python at import and in a forked child (set_identity) */

extern int64_t this_pid;
extern int64_t this_token;
extern unsigned long main_thread;

/* -- the Python methods the C paths call back for everything rare (names interned at init) */

extern PyObject *name_lock_failed;    /* "_lock_failed" */
extern PyObject *name_refuse_release; /* "_refuse_release" */
extern PyObject *name_acquire_slowly; /* "_acquire_slowly" */
extern PyObject *name_release_slowly; /* "_release_slowly" */
extern PyObject *name_note_holding;   /* "_note_holding" */
extern PyObject *name_set_slowly;     /* "_set_slowly" */
extern PyObject *name_clear_slowly;   /* "_clear_slowly" */

/* -- waiting (_robust_waiting.c) */

double thread_slice(void);
int lock_until(pthread_mutex_t *mutex, double deadline);
int deadline_of(PyObject *timeout, double *deadline);

/* -- the core object (_robust_core.c): a mutex and int64 fields in a shared-memory segment

   Every core type starts with Core; SemaphoreCore adds its members after it. */

typedef struct {
    PyObject_HEAD
    pthread_mutex_t *mutex; /* NULL until _attach */
    int64_t *fields;        /* right after the mutex */
    Py_buffer memory;       /* holds the segment's mapping while this object lives */
} Core;

/* What a core type needs of its segment, and how its messages name it. */
typedef struct {
    const char *noun;        /* "lock": "this lock is attached already" */
    const char *article;     /* "a": "a lock needs 104 bytes, not 64" */
    Py_ssize_t field_count;  /* int64 fields after the mutex */
    int lock_timeouts;       /* acquire(blocking=...) follows threading.Lock: timeout -1 waits
                                forever, other negatives are refused (else threading.Semaphore:
                                None waits forever, a negative timeout means 0) */
} CoreKind;

void core_dealloc(Core *self);
PyObject *core_attach(Core *self, PyObject *memory, const CoreKind *kind);
int core_not_attached(const CoreKind *kind);
int core_parse_acquire(Core *self, const CoreKind *kind, PyObject *const *args, Py_ssize_t nargs,
                       PyObject *kwnames, PyObject **block, PyObject **timeout);

/* 0, or -1 with RuntimeError when _attach has not run. */
static inline int
core_check_attached(Core *self, const CoreKind *kind)
{
    return self->mutex != NULL ? 0 : core_not_attached(kind);
}

/* The slots every core type shares (a base type for the Python class that completes it). */
#define CORE_TYPE_SLOTS(object_size)                                                         \
    .tp_basicsize = (object_size), .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,     \
    .tp_new = PyType_GenericNew, .tp_dealloc = (destructor)core_dealloc

/* -- monitors (_robust_monitor.c): the journal protocol of _monitor.py

   A monitor's fields: [ holder | journal length | snapshot start, length | journal x 48 |
   snapshot x 24 | the object's own fields... ].  Fields are `volatile` so that the compiler
   keeps the stores in program order: a SIGKILL lands between two instructions as written. */

enum {
    MONITOR_HOLDER = 0,
    MONITOR_JOURNAL_LENGTH = 1,
    MONITOR_SNAP_START = 2,
    MONITOR_SNAP_LENGTH = 3,
    MONITOR_JOURNAL = 4,
    MONITOR_JOURNAL_ENTRIES = 48,
    MONITOR_SNAPSHOT = MONITOR_JOURNAL + 2 * MONITOR_JOURNAL_ENTRIES,
    MONITOR_SNAPSHOT_WORDS = 24,
    MONITOR_FIRST_FIELD = MONITOR_SNAPSHOT + MONITOR_SNAPSHOT_WORDS,
};
#define SEQUENCE_MASK 0x7FFFFFFF /* futex words are 32 bits; counters stay positive */
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define FUTEX_OFFSET 4
#else
#define FUTEX_OFFSET 0
#endif

typedef volatile int64_t field_t;

static inline field_t *
monitor_fields(Core *self)
{
    return (field_t *)self->fields;
}

void monitor_roll_back(field_t *fields, int64_t field_count);

/* Enter the monitor without waiting (Monitor.enter's first step): 0 (entered, fields
   consistent, this process recorded as the holder) or the pthread result that the Python path
   will meet again and handle (EBUSY, EDEADLK, ...).  The object is attached.  Inline: it is
   the start of every fast path of SemaphoreCore and EventCore (a call costs ~2 ns of ~55). */
static inline int
monitor_try_enter(Core *self, int64_t field_count)
{
    field_t *fields = monitor_fields(self);
    int result = pthread_mutex_trylock(self->mutex);
    if (result == EOWNERDEAD) { /* the holder died inside a change: undo it */
        monitor_roll_back(fields, field_count);
        pthread_mutex_consistent(self->mutex);
        result = 0;
    }
    if (result == 0) {
        fields[MONITOR_HOLDER] = this_pid;
    }
    return result;
}

/* Save fields[index] in the journal before it changes: the pair first, then the length (a torn
   entry is never replayed). */
static inline void
monitor_journal(field_t *fields, int64_t index)
{
    int64_t length = fields[MONITOR_JOURNAL_LENGTH];
    field_t *slot = fields + MONITOR_JOURNAL + 2 * length;
    slot[0] = index;
    slot[1] = fields[index];
    fields[MONITOR_JOURNAL_LENGTH] = length + 1; /* after the pair */
}

/* The change is complete: an empty journal means nothing to roll back. */
static inline void
monitor_commit(field_t *fields)
{
    fields[MONITOR_JOURNAL_LENGTH] = 0;
    fields[MONITOR_SNAP_LENGTH] = 0;
}

/* Wake up to `count` sleepers of the futex word in the low 32 bits of a field. */
static inline void
wake_field(field_t *field, int count)
{
    syscall(SYS_futex, (char *)field + FUTEX_OFFSET, FUTEX_WAKE, count, NULL, NULL, 0);
}

/* -- the types, and the layouts the module publishes for a test to compare with Python's */

extern PyTypeObject LockCoreType;
extern PyTypeObject RLockCoreType;
extern PyTypeObject SemaphoreCoreType;
extern PyTypeObject EventCoreType;

PyObject *semaphore_layout(void);
PyObject *event_layout(void);

#pragma GCC visibility pop

#endif /* COREPOOL_ROBUST_H */
