/* corepool.sync._robust: SemaphoreCore, the uncontended acquire and release of a Semaphore.

   Semaphore.acquire() ─▶ SemaphoreCore.acquire ─ trylock the monitor, value > 0 ─▶ journal, take
                            │ busy, value 0, errors      the unit, commit, unlock ─▶ True
                            ▼
                          self._acquire_slowly(block, timeout)  (Python: sleeping, dead holders)

   Fields (after the monitor's): layout owned by semaphores.py, checked by a test against
   SEMAPHORE_LAYOUT.  A row is the index of a (pid, units) pair; 0 means "no row". */

#include "_robust.h"

#include <stddef.h>

#if PY_VERSION_HEX >= 0x030C0000
#define MEMBER_LONGLONG Py_T_LONGLONG
#else
#include <structmember.h>
#define MEMBER_LONGLONG T_LONGLONG
#endif

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

static const CoreKind SEMAPHORE_KIND = {"semaphore", "a", SEM_END, 0};

typedef struct {
    Core core;
    long long row;       /* this process's row, remembered between calls (0: none) */
    long long row_pid;   /* the pid that row was found for (a forked child looks again) */
    long long hook_pid;  /* the pid whose exit hook knows this semaphore */
} SemaphoreCore;

static PyObject *
semaphore_attach(SemaphoreCore *self, PyObject *memory)
{
    return core_attach(&self->core, memory, &SEMAPHORE_KIND);
}

/* Enter the monitor without waiting, with room in the journal for one fast path: 0, or the
   pthread result (EBUSY for a full journal too) that the Python path will meet and handle. */
static int
semaphore_try_enter(SemaphoreCore *self)
{
    int result = monitor_try_enter(&self->core, SEM_END);
    if (result == 0 &&
        monitor_fields(&self->core)[MONITOR_JOURNAL_LENGTH] >
            MONITOR_JOURNAL_ENTRIES - SEM_JOURNALED) {
        pthread_mutex_unlock(self->core.mutex); /* a full journal: Python raises about it */
        result = EBUSY;
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

/* Python's rule for the timeout argument: float(timeout) when blocking, so that a bad one is
   refused (as locks.deadline_of) even when a unit is free.  0, or -1 with an exception. */
static int
semaphore_check_timeout(PyObject *block, PyObject *timeout)
{
    if (timeout == Py_None || block == Py_False) {
        return 0;
    }
    int blocking = PyObject_IsTrue(block);
    PyObject *number = blocking > 0 ? PyNumber_Float(timeout) : NULL;
    if (blocking < 0 || (blocking > 0 && number == NULL)) {
        return -1;
    }
    Py_XDECREF(number);
    return 0;
}

/* The first unit this process takes registers the semaphore with its exit hook (Python). */
static int
semaphore_note_holding(SemaphoreCore *self)
{
    if (self->hook_pid == this_pid) {
        return 0;
    }
    PyObject *noted = PyObject_CallMethodNoArgs((PyObject *)self, name_note_holding);
    if (noted == NULL) {
        return -1;
    }
    Py_DECREF(noted);
    return 0;
}

/* acquire: the uncontended path here, everything else in Semaphore._acquire_slowly. */
static PyObject *
semaphore_acquire(SemaphoreCore *self, PyObject *const *args, Py_ssize_t nargs,
                  PyObject *kwnames)
{
    PyObject *block, *timeout;
    if (core_parse_acquire(&self->core, &SEMAPHORE_KIND, args, nargs, kwnames, &block,
                           &timeout) < 0 ||
        semaphore_check_timeout(block, timeout) < 0) {
        return NULL;
    }
    if (semaphore_try_enter(self) == 0) {
        field_t *fields = monitor_fields(&self->core);
        if (fields[SEM_VALUE] > 0) {
            semaphore_take_unit(self, fields);
            pthread_mutex_unlock(self->core.mutex);
            if (semaphore_note_holding(self) < 0) {
                return NULL;
            }
            Py_RETURN_TRUE;
        }
        pthread_mutex_unlock(self->core.mutex);
    }
    return PyObject_CallMethodObjArgs((PyObject *)self, name_acquire_slowly, block, timeout,
                                      NULL);
}

static PyObject *
semaphore_enter(SemaphoreCore *self, PyObject *unused)
{
    return semaphore_acquire(self, NULL, 0, NULL);
}

/* The journaled change of Semaphore._release_slowly, the monitor entered and the value below
   the bound; the caller unlocks and wakes a sleeper. */
static void
semaphore_give_unit(SemaphoreCore *self, field_t *fields)
{
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
}

/* release(n=1): one unit here; n units (threading's release(n)) in Python, as is everything
   rare. */
static PyObject *
semaphore_release(SemaphoreCore *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (core_check_attached(&self->core, &SEMAPHORE_KIND) < 0) {
        return NULL;
    }
    if (nargs > 1) {
        PyErr_Format(PyExc_TypeError, "release() takes at most 1 argument (%zd given)", nargs);
        return NULL;
    }
    if (nargs == 1) {
        return PyObject_CallMethodOneArg((PyObject *)self, name_release_slowly, args[0]);
    }
    if (semaphore_try_enter(self) != 0) {
        return PyObject_CallMethodNoArgs((PyObject *)self, name_release_slowly);
    }
    field_t *fields = monitor_fields(&self->core);
    int64_t bound = fields[SEM_BOUND];
    if (bound != SEM_UNBOUNDED && fields[SEM_VALUE] >= bound) {
        pthread_mutex_unlock(self->core.mutex); /* Python raises the ValueError */
        return PyObject_CallMethodNoArgs((PyObject *)self, name_release_slowly);
    }
    semaphore_give_unit(self, fields);
    int64_t sleepers = fields[SEM_SLEEPERS];
    pthread_mutex_unlock(self->core.mutex);
    if (sleepers) { /* the word changed under the mutex: no sleeper can miss this */
        wake_field(&fields[SEM_WAKE], 1);
    }
    Py_RETURN_NONE;
}

static PyObject *
semaphore_exit(SemaphoreCore *self, PyObject *const *args, Py_ssize_t nargs)
{
    return semaphore_release(self, NULL, 0);
}

static PyMethodDef semaphore_methods[] = {
    {"_attach", (PyCFunction)semaphore_attach, METH_O,
     "_attach(memory): use the monitor at the start of this writable buffer (once)."},
    {"acquire", (PyCFunction)(void (*)(void))semaphore_acquire, METH_FASTCALL | METH_KEYWORDS,
     "acquire($self, /, block=True, timeout=None)\n--\n\n"
     "(blocking= is accepted for block=, with threading's rules.)\n"
     "True once a unit is taken; False when block is false or the timeout ran out."},
    {"release", (PyCFunction)(void (*)(void))semaphore_release, METH_FASTCALL,
     "release($self, n=1, /)\n--\n\nGive n units back."},
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

PyTypeObject SemaphoreCoreType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "corepool.sync._robust.SemaphoreCore",
    .tp_doc = "Uncontended acquire and release of a corepool Semaphore; subclasses provide "
              "_acquire_slowly, _release_slowly and _note_holding.",
    CORE_TYPE_SLOTS(sizeof(SemaphoreCore)),
    .tp_methods = semaphore_methods,
    .tp_members = semaphore_members,
};

/* SEMAPHORE_LAYOUT: what this build assumes of _monitor.py and semaphores.py (a test compares):
   (first object field, journal entries, snapshot words, value, bound, policy, wake word,
   sleepers, first row, rows). */
PyObject *
semaphore_layout(void)
{
    return Py_BuildValue("(iiiiiiiiii)", MONITOR_FIRST_FIELD, MONITOR_JOURNAL_ENTRIES,
                         MONITOR_SNAPSHOT_WORDS, SEM_VALUE, SEM_BOUND, SEM_POLICY, SEM_WAKE,
                         SEM_SLEEPERS, SEM_ROWS, SEM_ROW_COUNT);
}
