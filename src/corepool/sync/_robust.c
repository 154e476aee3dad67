/* corepool.sync._robust: the robust-mutex calls under corepool's locks, in C (optional).

    Lock.acquire() ─▶ LockCore.acquire ─ trylock (GIL held) ─ 0 ──────────▶ record holder, True
                                           │ EBUSY
                                           ▼
                       lock_until: clocklock in slices, GIL released; signal handlers between
                                           │ EOWNERDEAD, EDEADLK, other
                                           ▼
                       self._lock_failed(code, block, timeout)   (Python: recovery, policies)

The ctypes module ``_ctypes_calls`` is the fallback with the same behaviour; ``_native`` picks
one at import.  Why C: two ctypes calls cost ~0.3 us, eight times multiprocessing.Lock's whole
acquire + release; a method of a C type costs ~0.03 us.

The mutex is at the start of a shared-memory segment, followed by the lock's int64 fields
(layout owned by locks.py):  [ pthread_mutex_t (64 B) | pid | token | thread | depth | policy ].

Semaphore.acquire() ─▶ SemaphoreCore.acquire ─ trylock the monitor, value > 0 ─▶ journal, take
                         │ busy, value 0, errors      the unit, commit, unlock ─▶ True
                         ▼
                       self._acquire_slowly(block, timeout)  (Python: sleeping, dead holders)

Event.set() / clear() ─▶ EventCore: the same, with _set_slowly / _clear_slowly for a busy monitor

A semaphore's segment is a monitor (layout owned by _monitor.py and semaphores.py):
  [ pthread_mutex_t | holder | journal length | snapshot start, length | journal x 48 |
    snapshot x 24 | value | bound | policy | wake word | sleepers | (pid, units) x 64 ]
The C fast paths follow the monitor's journal protocol exactly (see "monitors" below), so a
process killed anywhere inside them leaves a state that the next process to enter (from C or
from Python) rolls back, as if the change had never begun.
*/

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <time.h>
#include <stddef.h>

#if PY_VERSION_HEX >= 0x030C0000
#define MEMBER_LONGLONG Py_T_LONGLONG
#else
#include <structmember.h>
#define MEMBER_LONGLONG T_LONGLONG
#endif

#ifndef __linux__
#error "corepool.sync._robust needs Linux (futexes); corepool falls back to ctypes elsewhere"
#endif
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MUTEX_BYTES 64
/* What _native.EXTENSION_API expects: bump both when a function or type changes. */
#define ROBUST_API 2
enum { FIELD_PID, FIELD_TOKEN, FIELD_THREAD, FIELD_DEPTH, FIELD_COUNT = 5 };

/* Longest uninterrupted wait: the main thread's Ctrl-C latency (as _ctypes_calls). */
#define INTERRUPT_SLICE 0.05
#define OTHER_THREAD_SLICE 1.0

#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 30))
#define HAVE_CLOCKLOCK 1
#endif

/* Who this process is: pushed by Python at import and in a forked child (set_identity). */
static int64_t this_pid;
static int64_t this_token;
static unsigned long main_thread;

static PyObject *name_lock_failed;   /* "_lock_failed" */
static PyObject *name_refuse_release; /* "_refuse_release" */
static PyObject *name_acquire_slowly; /* "_acquire_slowly" */
static PyObject *name_release_slowly; /* "_release_slowly" */
static PyObject *name_note_holding;   /* "_note_holding" */
static PyObject *name_set_slowly;     /* "_set_slowly" */
static PyObject *name_clear_slowly;   /* "_clear_slowly" */

/* -- waiting */

static double
monotonic_now(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec + (double)now.tv_nsec * 1e-9;
}

static struct timespec
clock_after(clockid_t clock, double seconds)
{
    struct timespec when;
    clock_gettime(clock, &when);
    double whole = floor(seconds);
    when.tv_sec += (time_t)whole;
    when.tv_nsec += (long)((seconds - whole) * 1e9);
    if (when.tv_nsec >= 1000000000L) {
        when.tv_sec += 1;
        when.tv_nsec -= 1000000000L;
    }
    return when;
}

static int
timed_lock(pthread_mutex_t *mutex, double seconds)
{
    int result;
#ifdef HAVE_CLOCKLOCK
    struct timespec until = clock_after(CLOCK_MONOTONIC, seconds);
    Py_BEGIN_ALLOW_THREADS
    result = pthread_mutex_clocklock(mutex, CLOCK_MONOTONIC, &until);
    Py_END_ALLOW_THREADS
#else /* older C libraries: the wall clock; slices bound what a clock jump can do */
    struct timespec until = clock_after(CLOCK_REALTIME, seconds);
    Py_BEGIN_ALLOW_THREADS
    result = pthread_mutex_timedlock(mutex, &until);
    Py_END_ALLOW_THREADS
#endif
    return result;
}

static double
thread_slice(void)
{
    return PyThread_get_thread_ident() == main_thread ? INTERRUPT_SLICE : OTHER_THREAD_SLICE;
}

/* Lock, waiting until `deadline` (CLOCK_MONOTONIC seconds, INFINITY: forever).  Returns the
   pthread result (0, EOWNERDEAD, ETIMEDOUT, EDEADLK...), or -1 with an exception set when a
   signal handler raised between two slices. */
static int
lock_until(pthread_mutex_t *mutex, double deadline)
{
    int result = pthread_mutex_trylock(mutex);
    while (result == EBUSY) {
        double slice = thread_slice();
        double left = deadline - monotonic_now();
        if (!(left > 0)) {
            return ETIMEDOUT;
        }
        result = timed_lock(mutex, left < slice ? left : slice);
        if (result == ETIMEDOUT) {
            if (PyErr_CheckSignals() < 0) {
                return -1;
            }
            result = EBUSY;
        }
    }
    return result;
}

/* multiprocessing's rules: a negative (or NaN) timeout means "do not wait". */
static int
deadline_of(PyObject *timeout, double *deadline)
{
    if (timeout == Py_None) {
        *deadline = INFINITY;
        return 0;
    }
    PyObject *number = PyNumber_Float(timeout);
    if (number == NULL) {
        return -1;
    }
    double seconds = PyFloat_AS_DOUBLE(number);
    Py_DECREF(number);
    *deadline = monotonic_now() + (seconds > 0 ? seconds : 0.0);
    return 0;
}

/* -- the lock types */

typedef struct {
    PyObject_HEAD
    pthread_mutex_t *mutex; /* NULL until _attach */
    int64_t *fields;
    Py_buffer memory; /* holds the segment's mapping while this object lives */
} Core;

static void
core_dealloc(Core *self)
{
    if (self->memory.obj != NULL) {
        PyBuffer_Release(&self->memory);
    }
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *
core_attach(Core *self, PyObject *memory)
{
    if (self->memory.obj != NULL) {
        PyErr_SetString(PyExc_RuntimeError, "this lock is attached already");
        return NULL;
    }
    if (PyObject_GetBuffer(memory, &self->memory, PyBUF_WRITABLE) < 0) {
        return NULL;
    }
    if (self->memory.len < MUTEX_BYTES + 8 * FIELD_COUNT) {
        PyBuffer_Release(&self->memory);
        PyErr_Format(PyExc_ValueError, "a lock needs %d bytes, not %zd",
                     MUTEX_BYTES + 8 * FIELD_COUNT, self->memory.len);
        return NULL;
    }
    self->mutex = (pthread_mutex_t *)self->memory.buf;
    self->fields = (int64_t *)((char *)self->memory.buf + MUTEX_BYTES);
    Py_RETURN_NONE;
}

static int
check_attached(Core *self)
{
    if (self->mutex == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "this lock has no shared memory (not attached)");
        return -1;
    }
    return 0;
}

/* acquire(block=True, timeout=None), vectorcall-style arguments. */
static int
parse_acquire(PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames, PyObject **block,
              PyObject **timeout)
{
    *block = Py_True;
    *timeout = Py_None;
    if (nargs > 2) {
        PyErr_Format(PyExc_TypeError, "acquire() takes at most 2 arguments (%zd given)", nargs);
        return -1;
    }
    if (nargs > 0) {
        *block = args[0];
    }
    if (nargs > 1) {
        *timeout = args[1];
    }
    Py_ssize_t named = kwnames == NULL ? 0 : PyTuple_GET_SIZE(kwnames);
    for (Py_ssize_t i = 0; i < named; i++) {
        PyObject *name = PyTuple_GET_ITEM(kwnames, i);
        int position;
        if (PyUnicode_CompareWithASCIIString(name, "block") == 0) {
            position = 0;
            *block = args[nargs + i];
        } else if (PyUnicode_CompareWithASCIIString(name, "timeout") == 0) {
            position = 1;
            *timeout = args[nargs + i];
        } else {
            PyErr_Format(PyExc_TypeError, "acquire() got an unexpected keyword argument '%U'",
                         name);
            return -1;
        }
        if (position < nargs) {
            PyErr_Format(PyExc_TypeError, "acquire() got multiple values for argument '%U'",
                         name);
            return -1;
        }
    }
    return 0;
}

/* After trylock returned `tried` (not 0): wait if allowed, then hand the rare outcomes to
   Python.  1: locked (the caller records the holder), 0: not locked, -1: exception. */
static int
acquire_slowly(Core *self, int tried, PyObject *block, PyObject *timeout)
{
    int result = tried;
    if (result == EBUSY) {
        int blocking = PyObject_IsTrue(block);
        if (blocking <= 0) {
            return blocking;
        }
        double deadline;
        if (deadline_of(timeout, &deadline) < 0) {
            return -1;
        }
        result = lock_until(self->mutex, deadline);
    }
    if (result <= 0) {
        return result == 0 ? 1 : -1;
    }
    if (result == ETIMEDOUT) {
        return 0;
    }
    PyObject *code = PyLong_FromLong(result);
    if (code == NULL) {
        return -1;
    }
    PyObject *outcome = PyObject_CallMethodObjArgs((PyObject *)self, name_lock_failed, code,
                                                   block, timeout, NULL);
    Py_DECREF(code);
    if (outcome == NULL) {
        return -1;
    }
    int locked = PyObject_IsTrue(outcome);
    Py_DECREF(outcome);
    return locked;
}

static PyObject *
refuse_release(Core *self)
{
    PyObject *error = PyObject_CallMethodObjArgs((PyObject *)self, name_refuse_release, NULL);
    if (error != NULL) {
        PyErr_SetObject((PyObject *)Py_TYPE(error), error);
        Py_DECREF(error);
    }
    return NULL;
}

/* Lock: the holder's pid is recorded so that a waiter can name a dead holder. */

static PyObject *
lock_acquire(Core *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    PyObject *block, *timeout;
    if (check_attached(self) < 0 || parse_acquire(args, nargs, kwnames, &block, &timeout) < 0) {
        return NULL;
    }
    int tried = pthread_mutex_trylock(self->mutex);
    if (tried != 0) {
        int locked = acquire_slowly(self, tried, block, timeout);
        if (locked <= 0) {
            return locked < 0 ? NULL : Py_NewRef(Py_False);
        }
    }
    self->fields[FIELD_PID] = this_pid;
    Py_RETURN_TRUE;
}

static PyObject *
lock_enter(Core *self, PyObject *unused)
{
    return lock_acquire(self, NULL, 0, NULL);
}

static PyObject *
lock_release(Core *self, PyObject *unused)
{
    if (check_attached(self) < 0) {
        return NULL;
    }
    if (pthread_mutex_unlock(self->mutex) != 0) {
        return refuse_release(self);
    }
    Py_RETURN_NONE;
}

static PyObject *
lock_exit(Core *self, PyObject *const *args, Py_ssize_t nargs)
{
    return lock_release(self, NULL);
}

/* RLock: the holder (token, thread) and the depth let the holder re-enter without a call. */

static int
rlock_is_mine(Core *self)
{
    int64_t *fields = self->fields;
    return fields[FIELD_THREAD] == (int64_t)PyThread_get_thread_ident() &&
           fields[FIELD_TOKEN] == this_token;
}

static PyObject *
rlock_acquire(Core *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    PyObject *block, *timeout;
    if (check_attached(self) < 0 || parse_acquire(args, nargs, kwnames, &block, &timeout) < 0) {
        return NULL;
    }
    int64_t *fields = self->fields;
    if (rlock_is_mine(self)) {
        fields[FIELD_DEPTH] += 1;
        Py_RETURN_TRUE;
    }
    int tried = pthread_mutex_trylock(self->mutex);
    if (tried != 0) {
        int locked = acquire_slowly(self, tried, block, timeout);
        if (locked <= 0) {
            return locked < 0 ? NULL : Py_NewRef(Py_False);
        }
    }
    fields[FIELD_PID] = this_pid;
    fields[FIELD_TOKEN] = this_token;
    fields[FIELD_THREAD] = (int64_t)PyThread_get_thread_ident();
    fields[FIELD_DEPTH] = 1;
    Py_RETURN_TRUE;
}

static PyObject *
rlock_enter(Core *self, PyObject *unused)
{
    return rlock_acquire(self, NULL, 0, NULL);
}

static PyObject *
rlock_release(Core *self, PyObject *unused)
{
    if (check_attached(self) < 0) {
        return NULL;
    }
    int64_t *fields = self->fields;
    if (!rlock_is_mine(self) || fields[FIELD_DEPTH] <= 0) {
        return refuse_release(self);
    }
    int64_t depth = fields[FIELD_DEPTH] - 1;
    fields[FIELD_DEPTH] = depth;
    if (depth == 0) {
        fields[FIELD_TOKEN] = 0;
        fields[FIELD_THREAD] = 0;
        pthread_mutex_unlock(self->mutex);
    }
    Py_RETURN_NONE;
}

static PyObject *
rlock_exit(Core *self, PyObject *const *args, Py_ssize_t nargs)
{
    return rlock_release(self, NULL);
}

#define ATTACH_METHOD                                                                        \
    {"_attach", (PyCFunction)core_attach, METH_O,                                           \
     "_attach(memory): use the mutex at the start of this writable buffer (once)."}

static PyMethodDef lock_methods[] = {
    ATTACH_METHOD,
    {"acquire", (PyCFunction)(void (*)(void))lock_acquire, METH_FASTCALL | METH_KEYWORDS,
     "acquire($self, /, block=True, timeout=None)\n--\n\n"
     "True once held; False when block is false or the timeout ran out."},
    {"release", (PyCFunction)lock_release, METH_NOARGS,
     "release($self, /)\n--\n\nRelease the lock (held by this thread)."},
    {"__enter__", (PyCFunction)lock_enter, METH_NOARGS, NULL},
    {"__exit__", (PyCFunction)(void (*)(void))lock_exit, METH_FASTCALL, NULL},
    {NULL, NULL, 0, NULL},
};

static PyMethodDef rlock_methods[] = {
    ATTACH_METHOD,
    {"acquire", (PyCFunction)(void (*)(void))rlock_acquire, METH_FASTCALL | METH_KEYWORDS,
     "acquire($self, /, block=True, timeout=None)\n--\n\n"
     "True once held; False when block is false or the timeout ran out."},
    {"release", (PyCFunction)rlock_release, METH_NOARGS,
     "release($self, /)\n--\n\nRelease one level (held by this thread)."},
    {"__enter__", (PyCFunction)rlock_enter, METH_NOARGS, NULL},
    {"__exit__", (PyCFunction)(void (*)(void))rlock_exit, METH_FASTCALL, NULL},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject LockCoreType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "corepool.sync._robust.LockCore",
    .tp_doc = "Acquire and release of a corepool Lock; subclasses provide _lock_failed and "
              "_refuse_release.",
    .tp_basicsize = sizeof(Core),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_new = PyType_GenericNew,
    .tp_dealloc = (destructor)core_dealloc,
    .tp_methods = lock_methods,
};

static PyTypeObject RLockCoreType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "corepool.sync._robust.RLockCore",
    .tp_doc = "Acquire and release of a corepool RLock; subclasses provide _lock_failed and "
              "_refuse_release.",
    .tp_basicsize = sizeof(Core),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_new = PyType_GenericNew,
    .tp_dealloc = (destructor)core_dealloc,
    .tp_methods = rlock_methods,
};

/* -- monitors: the journal protocol of _monitor.py, for the semaphore's fast paths

   A change of several fields first saves each old value in the journal: the (index, old
   value) pair, then the journal length (a torn entry is never replayed); commit() empties the
   journal.  A process killed inside a change leaves the mutex EOWNERDEAD and the journal
   behind; whoever enters next puts the old values back (monitor_roll_back).  Fields are
   `volatile` so that the compiler keeps the stores in this order: a SIGKILL lands between two
   instructions of the program as written.  Their visibility to the next holder is ordered by
   the mutex (the kernel's robust-list release of a dead holder is a full barrier). */

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

/* _monitor.Monitor.roll_back; entries outside the fields are skipped, never written. */
static void
monitor_roll_back(field_t *fields, int64_t count)
{
    int64_t length = fields[MONITOR_SNAP_LENGTH], start = fields[MONITOR_SNAP_START];
    if (length > 0 && length <= MONITOR_SNAPSHOT_WORDS && start >= 0 && start + length <= count) {
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
        if (index >= 0 && index < count) {
            fields[index] = fields[MONITOR_JOURNAL + 2 * entry + 1];
        }
    }
    fields[MONITOR_JOURNAL_LENGTH] = 0;
}

static void
monitor_journal(field_t *fields, int64_t index)
{
    int64_t length = fields[MONITOR_JOURNAL_LENGTH];
    field_t *slot = fields + MONITOR_JOURNAL + 2 * length;
    slot[0] = index;
    slot[1] = fields[index];
    fields[MONITOR_JOURNAL_LENGTH] = length + 1; /* after the pair */
}

static void
monitor_commit(field_t *fields)
{
    fields[MONITOR_JOURNAL_LENGTH] = 0;
    fields[MONITOR_SNAP_LENGTH] = 0;
}

/* -- the semaphore type

   Fields (after the monitor's): layout owned by semaphores.py, checked by a test against
   SEMAPHORE_LAYOUT below.  A row is the index of a (pid, units) pair; 0 means "no row". */

enum {
    SEM_VALUE = MONITOR_FIRST_FIELD,
    SEM_BOUND,
    SEM_POLICY,
    SEM_WAKE,
    SEM_SLEEPERS,
    SEM_ROWS,
    SEM_ROW_COUNT = 64,
    SEM_END = SEM_ROWS + 2 * SEM_ROW_COUNT, /* fields in all */
};
#define SEM_UNBOUNDED (-1)
#define SEM_JOURNALED 4 /* most journal entries one fast path writes */

typedef struct {
    PyObject_HEAD
    pthread_mutex_t *mutex; /* NULL until _attach */
    field_t *fields;
    Py_buffer memory;
    long long row;       /* this process's row, remembered between calls (0: none) */
    long long row_pid;   /* the pid that row was found for (a forked child looks again) */
    long long hook_pid;  /* the pid whose exit hook knows this semaphore */
} SemaphoreCore;

static void
semaphore_dealloc(SemaphoreCore *self)
{
    if (self->memory.obj != NULL) {
        PyBuffer_Release(&self->memory);
    }
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *
semaphore_attach(SemaphoreCore *self, PyObject *memory)
{
    Py_ssize_t needed = MUTEX_BYTES + 8 * SEM_END;
    if (self->memory.obj != NULL) {
        PyErr_SetString(PyExc_RuntimeError, "this semaphore is attached already");
        return NULL;
    }
    if (PyObject_GetBuffer(memory, &self->memory, PyBUF_WRITABLE) < 0) {
        return NULL;
    }
    if (self->memory.len < needed) {
        PyBuffer_Release(&self->memory);
        PyErr_Format(PyExc_ValueError, "a semaphore needs %zd bytes, not %zd", needed,
                     self->memory.len);
        return NULL;
    }
    self->mutex = (pthread_mutex_t *)self->memory.buf;
    self->fields = (field_t *)((char *)self->memory.buf + MUTEX_BYTES);
    Py_RETURN_NONE;
}

/* Enter the monitor without waiting: 0 (entered, fields consistent) or the pthread result
   that the Python path will meet again and handle (EBUSY, EDEADLK, ...). */
static int
semaphore_try_enter(SemaphoreCore *self)
{
    int result = pthread_mutex_trylock(self->mutex);
    if (result == EOWNERDEAD) { /* the holder died inside a change: undo it (Monitor.enter) */
        monitor_roll_back(self->fields, SEM_END);
        pthread_mutex_consistent(self->mutex);
        result = 0;
    }
    if (result == 0) {
        self->fields[MONITOR_HOLDER] = this_pid;
        if (self->fields[MONITOR_JOURNAL_LENGTH] > MONITOR_JOURNAL_ENTRIES - SEM_JOURNALED) {
            pthread_mutex_unlock(self->mutex); /* a full journal: Python raises about it */
            result = EBUSY;
        }
    }
    return result;
}

static int64_t
semaphore_row_of(field_t *fields, int64_t pid)
{
    for (int64_t row = SEM_ROWS; row < SEM_END; row += 2) {
        if (fields[row] == pid) {
            return row;
        }
    }
    return 0;
}

/* semaphores.Semaphore._take_unit, the monitor entered and the value above 0. */
static void
semaphore_take_unit(SemaphoreCore *self, field_t *fields)
{
    int64_t pid = this_pid, row = self->row;
    if (row == 0 || self->row_pid != pid || (fields[row] != pid && fields[row] != 0)) {
        row = semaphore_row_of(fields, pid);
        if (row == 0) {
            row = semaphore_row_of(fields, 0); /* none free: the unit goes untracked */
        }
    }
    monitor_journal(fields, SEM_VALUE);
    if (row != 0) {
        monitor_journal(fields, row);
        monitor_journal(fields, row + 1);
        fields[row] = pid;
        fields[row + 1] += 1;
        self->row = row;
        self->row_pid = pid;
    }
    fields[SEM_VALUE] -= 1;
    monitor_commit(fields);
}

/* semaphores.Semaphore._my_row: the row holding this process's units, or 0. */
static int64_t
semaphore_my_row(SemaphoreCore *self, field_t *fields)
{
    int64_t pid = this_pid, row = self->row;
    if (row != 0 && self->row_pid == pid && fields[row] == pid) {
        return row;
    }
    row = semaphore_row_of(fields, pid);
    self->row = row;
    self->row_pid = pid;
    return row;
}

/* acquire: Python's rule for the timeout argument (float(timeout) when blocking), then the
   uncontended path here, everything else in Semaphore._acquire_slowly. */
static PyObject *
semaphore_acquire(SemaphoreCore *self, PyObject *const *args, Py_ssize_t nargs,
                  PyObject *kwnames)
{
    PyObject *block, *timeout;
    if (parse_acquire(args, nargs, kwnames, &block, &timeout) < 0) {
        return NULL;
    }
    if (self->mutex == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "this semaphore has no shared memory");
        return NULL;
    }
    if (timeout != Py_None && block != Py_False) { /* as locks.deadline_of: refuse bad ones */
        int blocking = PyObject_IsTrue(block);
        PyObject *number = blocking > 0 ? PyNumber_Float(timeout) : NULL;
        if (blocking < 0 || (blocking > 0 && number == NULL)) {
            return NULL;
        }
        Py_XDECREF(number);
    }
    if (semaphore_try_enter(self) == 0) {
        field_t *fields = self->fields;
        if (fields[SEM_VALUE] > 0) {
            semaphore_take_unit(self, fields);
            pthread_mutex_unlock(self->mutex);
            if (self->hook_pid != this_pid) { /* first unit in this process: exit hook */
                PyObject *noted = PyObject_CallMethodNoArgs((PyObject *)self, name_note_holding);
                if (noted == NULL) {
                    return NULL;
                }
                Py_DECREF(noted);
            }
            Py_RETURN_TRUE;
        }
        pthread_mutex_unlock(self->mutex);
    }
    return PyObject_CallMethodObjArgs((PyObject *)self, name_acquire_slowly, block, timeout,
                                      NULL);
}

static PyObject *
semaphore_enter(SemaphoreCore *self, PyObject *unused)
{
    return semaphore_acquire(self, NULL, 0, NULL);
}

static PyObject *
semaphore_release(SemaphoreCore *self, PyObject *unused)
{
    if (self->mutex == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "this semaphore has no shared memory");
        return NULL;
    }
    if (semaphore_try_enter(self) != 0) {
        return PyObject_CallMethodNoArgs((PyObject *)self, name_release_slowly);
    }
    field_t *fields = self->fields;
    int64_t bound = fields[SEM_BOUND];
    if (bound != SEM_UNBOUNDED && fields[SEM_VALUE] >= bound) {
        pthread_mutex_unlock(self->mutex); /* Python raises the ValueError */
        return PyObject_CallMethodNoArgs((PyObject *)self, name_release_slowly);
    }
    int64_t row = semaphore_my_row(self, fields);
    monitor_journal(fields, SEM_VALUE);
    monitor_journal(fields, SEM_WAKE);
    if (row != 0) { /* else: a release by a process holding no unit, a signal */
        monitor_journal(fields, row);
        monitor_journal(fields, row + 1);
        fields[row + 1] -= 1;
        if (fields[row + 1] <= 0) {
            fields[row] = 0; /* free; remembered for the next acquire */
            fields[row + 1] = 0;
        }
    }
    fields[SEM_VALUE] += 1;
    fields[SEM_WAKE] = (fields[SEM_WAKE] + 1) & SEQUENCE_MASK;
    monitor_commit(fields);
    int64_t sleepers = fields[SEM_SLEEPERS];
    pthread_mutex_unlock(self->mutex);
    if (sleepers) { /* the word changed under the mutex: no sleeper can miss this */
        syscall(SYS_futex, (char *)&fields[SEM_WAKE] + FUTEX_OFFSET, FUTEX_WAKE, 1, NULL, NULL,
                0);
    }
    Py_RETURN_NONE;
}

static PyObject *
semaphore_exit(SemaphoreCore *self, PyObject *const *args, Py_ssize_t nargs)
{
    return semaphore_release(self, NULL);
}

static PyMethodDef semaphore_methods[] = {
    {"_attach", (PyCFunction)semaphore_attach, METH_O,
     "_attach(memory): use the monitor at the start of this writable buffer (once)."},
    {"acquire", (PyCFunction)(void (*)(void))semaphore_acquire, METH_FASTCALL | METH_KEYWORDS,
     "acquire($self, /, block=True, timeout=None)\n--\n\n"
     "True once a unit is taken; False when block is false or the timeout ran out."},
    {"release", (PyCFunction)semaphore_release, METH_NOARGS,
     "release($self, /)\n--\n\nGive a unit back."},
    {"__enter__", (PyCFunction)semaphore_enter, METH_NOARGS, NULL},
    {"__exit__", (PyCFunction)(void (*)(void))semaphore_exit, METH_FASTCALL, NULL},
    {NULL, NULL, 0, NULL},
};

static PyMemberDef semaphore_members[] = {
    {"_row", MEMBER_LONGLONG, offsetof(SemaphoreCore, row), 0,
     "this process's row in the holder table (0: none)"},
    {"_row_pid", MEMBER_LONGLONG, offsetof(SemaphoreCore, row_pid), 0,
     "the pid _row was found for"},
    {"_exit_hook_pid", MEMBER_LONGLONG, offsetof(SemaphoreCore, hook_pid), 0,
     "the pid whose exit hook knows this semaphore"},
    {NULL, 0, 0, 0, NULL},
};

static PyTypeObject SemaphoreCoreType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "corepool.sync._robust.SemaphoreCore",
    .tp_doc = "Uncontended acquire and release of a corepool Semaphore; subclasses provide "
              "_acquire_slowly, _release_slowly and _note_holding.",
    .tp_basicsize = sizeof(SemaphoreCore),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_new = PyType_GenericNew,
    .tp_dealloc = (destructor)semaphore_dealloc,
    .tp_methods = semaphore_methods,
    .tp_members = semaphore_members,
};

/* -- the event type: set, clear and is_set in C; wait stays in Python (it sleeps)

   Fields (after the monitor's; layout owned by event.py): [ flag | wake word | sleepers ].
   set() changes the wake word under the mutex and wakes only when someone sleeps on it (a
   futex wake is a system call, ~0.3 us, paid by every set() before sleepers were counted). */

enum { EVENT_FLAG = MONITOR_FIRST_FIELD, EVENT_WAKE, EVENT_SLEEPERS, EVENT_END };

static PyObject *
event_attach(Core *self, PyObject *memory)
{
    Py_ssize_t needed = MUTEX_BYTES + 8 * EVENT_END;
    if (self->memory.obj != NULL) {
        PyErr_SetString(PyExc_RuntimeError, "this event is attached already");
        return NULL;
    }
    if (PyObject_GetBuffer(memory, &self->memory, PyBUF_WRITABLE) < 0) {
        return NULL;
    }
    if (self->memory.len < needed) {
        PyBuffer_Release(&self->memory);
        PyErr_Format(PyExc_ValueError, "an event needs %zd bytes, not %zd", needed,
                     self->memory.len);
        return NULL;
    }
    self->mutex = (pthread_mutex_t *)self->memory.buf;
    self->fields = (int64_t *)((char *)self->memory.buf + MUTEX_BYTES);
    Py_RETURN_NONE;
}

/* Enter the monitor without waiting (as semaphore_try_enter): 0 or the pthread result. */
static int
event_try_enter(Core *self)
{
    if (check_attached(self) < 0) {
        return -1;
    }
    field_t *fields = self->fields;
    int result = pthread_mutex_trylock(self->mutex);
    if (result == EOWNERDEAD) {
        monitor_roll_back(fields, EVENT_END);
        pthread_mutex_consistent(self->mutex);
        result = 0;
    }
    if (result == 0) {
        fields[MONITOR_HOLDER] = this_pid;
    }
    return result;
}

static PyObject *
event_set(Core *self, PyObject *unused)
{
    int entered = event_try_enter(self);
    if (entered != 0) {
        return entered < 0 ? NULL : PyObject_CallMethodNoArgs((PyObject *)self, name_set_slowly);
    }
    field_t *fields = self->fields;
    fields[EVENT_FLAG] = 1;
    fields[EVENT_WAKE] = (fields[EVENT_WAKE] + 1) & SEQUENCE_MASK;
    int64_t sleepers = fields[EVENT_SLEEPERS];
    pthread_mutex_unlock(self->mutex);
    if (sleepers) {
        syscall(SYS_futex, (char *)&fields[EVENT_WAKE] + FUTEX_OFFSET, FUTEX_WAKE, 0x7FFFFFFF,
                NULL, NULL, 0);
    }
    Py_RETURN_NONE;
}

static PyObject *
event_clear(Core *self, PyObject *unused)
{
    int entered = event_try_enter(self);
    if (entered != 0) {
        return entered < 0 ? NULL
                           : PyObject_CallMethodNoArgs((PyObject *)self, name_clear_slowly);
    }
    ((field_t *)self->fields)[EVENT_FLAG] = 0;
    pthread_mutex_unlock(self->mutex);
    Py_RETURN_NONE;
}

static PyObject *
event_is_set(Core *self, PyObject *unused)
{
    if (check_attached(self) < 0) {
        return NULL;
    }
    return PyBool_FromLong(((field_t *)self->fields)[EVENT_FLAG] != 0);
}

static PyMethodDef event_methods[] = {
    {"_attach", (PyCFunction)event_attach, METH_O,
     "_attach(memory): use the monitor at the start of this writable buffer (once)."},
    {"set", (PyCFunction)event_set, METH_NOARGS,
     "set($self, /)\n--\n\nSet the flag and wake every waiter."},
    {"clear", (PyCFunction)event_clear, METH_NOARGS, "clear($self, /)\n--\n\nClear the flag."},
    {"is_set", (PyCFunction)event_is_set, METH_NOARGS,
     "is_set($self, /)\n--\n\nWhether the flag is set."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject EventCoreType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "corepool.sync._robust.EventCore",
    .tp_doc = "set, clear and is_set of a corepool Event; subclasses provide _set_slowly and "
              "_clear_slowly (a busy monitor).",
    .tp_basicsize = sizeof(Core),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_new = PyType_GenericNew,
    .tp_dealloc = (destructor)core_dealloc,
    .tp_methods = event_methods,
};

/* -- module functions on a mutex address (for monitors and the slow paths) */

static pthread_mutex_t *
mutex_at(PyObject *address)
{
    void *pointer = PyLong_AsVoidPtr(address);
    if (pointer == NULL && !PyErr_Occurred()) {
        PyErr_SetString(PyExc_ValueError, "a mutex address cannot be 0");
    }
    return (pthread_mutex_t *)pointer;
}

static PyObject *
robust_trylock(PyObject *module, PyObject *address)
{
    pthread_mutex_t *mutex = mutex_at(address);
    return mutex == NULL ? NULL : PyLong_FromLong(pthread_mutex_trylock(mutex));
}

static PyObject *
robust_unlock(PyObject *module, PyObject *address)
{
    pthread_mutex_t *mutex = mutex_at(address);
    return mutex == NULL ? NULL : PyLong_FromLong(pthread_mutex_unlock(mutex));
}

static PyObject *
robust_consistent(PyObject *module, PyObject *address)
{
    pthread_mutex_t *mutex = mutex_at(address);
    return mutex == NULL ? NULL : PyLong_FromLong(pthread_mutex_consistent(mutex));
}

static PyObject *
robust_lock(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_Format(PyExc_TypeError, "lock() takes 2 arguments (%zd given)", nargs);
        return NULL;
    }
    pthread_mutex_t *mutex = mutex_at(args[0]);
    if (mutex == NULL) {
        return NULL;
    }
    double deadline = INFINITY;
    if (args[1] != Py_None) {
        deadline = PyFloat_AsDouble(args[1]);
        if (deadline == -1.0 && PyErr_Occurred()) {
            return NULL;
        }
    }
    int result = lock_until(mutex, deadline);
    return result < 0 ? NULL : PyLong_FromLong(result);
}

/* futex_wait(address, expected, timeout): sleep while the 32-bit word equals `expected`, at
   most `timeout` seconds and one slice (callers loop and re-check, running signal handlers). */
static PyObject *
robust_futex_wait(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3) {
        PyErr_Format(PyExc_TypeError, "futex_wait() takes 3 arguments (%zd given)", nargs);
        return NULL;
    }
    void *word = PyLong_AsVoidPtr(args[0]);
    unsigned long long expected = PyLong_AsUnsignedLongLongMask(args[1]);
    if ((word == NULL || expected == (unsigned long long)-1) && PyErr_Occurred()) {
        return NULL;
    }
    double wait = thread_slice();
    if (args[2] != Py_None) {
        double timeout = PyFloat_AsDouble(args[2]);
        if (timeout == -1.0 && PyErr_Occurred()) {
            return NULL;
        }
        if (!(timeout >= wait)) {
            wait = timeout > 0 ? timeout : 0.0; /* negative and NaN: do not sleep */
        }
    }
    struct timespec span;
    span.tv_sec = (time_t)wait;
    span.tv_nsec = (long)((wait - (double)span.tv_sec) * 1e9);
    Py_BEGIN_ALLOW_THREADS
    syscall(SYS_futex, word, FUTEX_WAIT, (uint32_t)expected, &span, NULL, 0);
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
}

static PyObject *
robust_futex_wake(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_Format(PyExc_TypeError, "futex_wake() takes 2 arguments (%zd given)", nargs);
        return NULL;
    }
    void *word = PyLong_AsVoidPtr(args[0]);
    long count = PyLong_AsLong(args[1]);
    if ((word == NULL || count == -1) && PyErr_Occurred()) {
        return NULL;
    }
    if (count > 0x7FFFFFFF) {
        count = 0x7FFFFFFF;
    }
    syscall(SYS_futex, word, FUTEX_WAKE, (int)count, NULL, NULL, 0);
    Py_RETURN_NONE;
}

static PyObject *
robust_init(PyObject *module, PyObject *address)
{
    pthread_mutex_t *mutex = mutex_at(address);
    if (mutex == NULL) {
        return NULL;
    }
    pthread_mutexattr_t attributes;
    int result = pthread_mutexattr_init(&attributes);
    if (result == 0) {
        /* error-checking: relocking by the holder returns EDEADLK instead of hanging */
        result = pthread_mutexattr_settype(&attributes, PTHREAD_MUTEX_ERRORCHECK);
        if (result == 0) {
            result = pthread_mutexattr_setpshared(&attributes, PTHREAD_PROCESS_SHARED);
        }
        if (result == 0) {
            result = pthread_mutexattr_setrobust(&attributes, PTHREAD_MUTEX_ROBUST);
        }
        if (result == 0) {
            result = pthread_mutex_init(mutex, &attributes);
        }
        pthread_mutexattr_destroy(&attributes);
    }
    if (result != 0) {
        errno = result;
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    Py_RETURN_NONE;
}

static PyObject *
robust_set_identity(PyObject *module, PyObject *args)
{
    long long pid, token;
    unsigned long thread;
    if (!PyArg_ParseTuple(args, "LLk:set_identity", &pid, &token, &thread)) {
        return NULL;
    }
    this_pid = (int64_t)pid;
    this_token = (int64_t)token;
    main_thread = thread;
    Py_RETURN_NONE;
}

static PyMethodDef module_methods[] = {
    {"trylock", robust_trylock, METH_O, "trylock(address) -> pthread result"},
    {"unlock", robust_unlock, METH_O, "unlock(address) -> pthread result"},
    {"consistent", robust_consistent, METH_O, "consistent(address) -> pthread result"},
    {"lock", (PyCFunction)(void (*)(void))robust_lock, METH_FASTCALL,
     "lock(address, deadline) -> pthread result; deadline in time.monotonic() seconds or "
     "None; waits with the GIL released, running signal handlers between slices"},
    {"futex_wait", (PyCFunction)(void (*)(void))robust_futex_wait, METH_FASTCALL,
     "futex_wait(address, expected, timeout): sleep while the word equals expected (one slice "
     "at most, GIL released)"},
    {"futex_wake", (PyCFunction)(void (*)(void))robust_futex_wake, METH_FASTCALL,
     "futex_wake(address, count): wake up to count sleepers of the word"},
    {"init", robust_init, METH_O,
     "init(address): a robust, process-shared, error-checking mutex in zeroed memory"},
    {"set_identity", robust_set_identity, METH_VARARGS,
     "set_identity(pid, token, main_thread_ident): who this process is (again after fork)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef robust_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "corepool.sync._robust",
    .m_doc = "Robust process-shared mutexes for corepool's locks (see _robust.c).",
    .m_size = -1,
    .m_methods = module_methods,
};

/* SEMAPHORE_LAYOUT: what this build assumes of _monitor.py and semaphores.py (a test compares):
   (first object field, journal entries, snapshot words, value, bound, policy, wake word,
   sleepers, first row, rows), and EVENT_LAYOUT of event.py: (flag, wake word, sleepers). */
static int
add_layouts(PyObject *module)
{
    PyObject *layout = Py_BuildValue("(iiiiiiiiii)", MONITOR_FIRST_FIELD, MONITOR_JOURNAL_ENTRIES,
                                     MONITOR_SNAPSHOT_WORDS, SEM_VALUE, SEM_BOUND, SEM_POLICY,
                                     SEM_WAKE, SEM_SLEEPERS, SEM_ROWS, SEM_ROW_COUNT);
    if (layout == NULL) {
        return -1;
    }
    int result = PyModule_AddObjectRef(module, "SEMAPHORE_LAYOUT", layout);
    Py_DECREF(layout);
    if (result < 0) {
        return -1;
    }
    layout = Py_BuildValue("(iii)", EVENT_FLAG, EVENT_WAKE, EVENT_SLEEPERS);
    if (layout == NULL) {
        return -1;
    }
    result = PyModule_AddObjectRef(module, "EVENT_LAYOUT", layout);
    Py_DECREF(layout);
    return result;
}

PyMODINIT_FUNC
PyInit__robust(void)
{
    name_lock_failed = PyUnicode_InternFromString("_lock_failed");
    name_refuse_release = PyUnicode_InternFromString("_refuse_release");
    name_acquire_slowly = PyUnicode_InternFromString("_acquire_slowly");
    name_release_slowly = PyUnicode_InternFromString("_release_slowly");
    name_note_holding = PyUnicode_InternFromString("_note_holding");
    name_set_slowly = PyUnicode_InternFromString("_set_slowly");
    name_clear_slowly = PyUnicode_InternFromString("_clear_slowly");
    if (name_lock_failed == NULL || name_refuse_release == NULL || name_acquire_slowly == NULL ||
        name_release_slowly == NULL || name_note_holding == NULL || name_set_slowly == NULL ||
        name_clear_slowly == NULL) {
        return NULL;
    }
    if (PyType_Ready(&LockCoreType) < 0 || PyType_Ready(&RLockCoreType) < 0 ||
        PyType_Ready(&SemaphoreCoreType) < 0 || PyType_Ready(&EventCoreType) < 0) {
        return NULL;
    }
    PyObject *module = PyModule_Create(&robust_module);
    if (module == NULL) {
        return NULL;
    }
    if (PyModule_AddObjectRef(module, "LockCore", (PyObject *)&LockCoreType) < 0 ||
        PyModule_AddObjectRef(module, "RLockCore", (PyObject *)&RLockCoreType) < 0 ||
        PyModule_AddObjectRef(module, "SemaphoreCore", (PyObject *)&SemaphoreCoreType) < 0 ||
        PyModule_AddObjectRef(module, "EventCore", (PyObject *)&EventCoreType) < 0 ||
        add_layouts(module) < 0 ||
        PyModule_AddIntConstant(module, "MUTEX_BYTES", MUTEX_BYTES) < 0 ||
        PyModule_AddIntConstant(module, "API", ROBUST_API) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
