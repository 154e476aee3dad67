/* corepool.sync._robust: LockCore and RLockCore, the C acquire and release of Lock and RLock.

   A lock's segment (layout owned by locks.py):
       [ pthread_mutex_t (64 B) | pid | token | thread | depth | policy ]
   An uncontended acquire is one trylock with the GIL held and the stores that name the holder;
   a busy mutex is waited for with the GIL released (lock_until); everything rare (a dead
   holder, the holder relocking, a release by a non-holder) calls back into Python
   (_lock_failed, _refuse_release), where recovery and its policies are written once. */

#include "_robust.h"

enum { FIELD_PID, FIELD_TOKEN, FIELD_THREAD, FIELD_DEPTH, FIELD_COUNT = 5 };

static const CoreKind LOCK_KIND = {"lock", "a", FIELD_COUNT, 1};

static PyObject *
lock_attach(Core *self, PyObject *memory)
{
    return core_attach(self, memory, &LOCK_KIND);
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

/* Lock the mutex: trylock with the GIL held, else acquire_slowly (1, 0 or -1 as it). */
static int
take_mutex(Core *self, PyObject *block, PyObject *timeout)
{
    int tried = pthread_mutex_trylock(self->mutex);
    return tried == 0 ? 1 : acquire_slowly(self, tried, block, timeout);
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

/* -- Lock: the holder's pid is recorded so that a waiter can name a dead holder. */

static PyObject *
lock_acquire(Core *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    PyObject *block, *timeout;
    if (core_parse_acquire(self, &LOCK_KIND, args, nargs, kwnames, &block, &timeout) < 0) {
        return NULL;
    }
    int locked = take_mutex(self, block, timeout);
    if (locked <= 0) {
        return locked < 0 ? NULL : Py_NewRef(Py_False);
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
    if (core_check_attached(self, &LOCK_KIND) < 0) {
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

/* -- RLock: the holder (token, thread) and the depth let the holder re-enter without a call. */

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
    if (core_parse_acquire(self, &LOCK_KIND, args, nargs, kwnames, &block, &timeout) < 0) {
        return NULL;
    }
    int64_t *fields = self->fields;
    if (rlock_is_mine(self)) {
        fields[FIELD_DEPTH] += 1;
        Py_RETURN_TRUE;
    }
    int locked = take_mutex(self, block, timeout);
    if (locked <= 0) {
        return locked < 0 ? NULL : Py_NewRef(Py_False);
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
    if (core_check_attached(self, &LOCK_KIND) < 0) {
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

/* -- the two types: the same methods over lock_* or rlock_* */

#define LOCK_METHODS(prefix, release_doc)                                                    \
    {                                                                                        \
        {"_attach", (PyCFunction)lock_attach, METH_O,                                        \
         "_attach(memory): use the mutex at the start of this writable buffer (once)."},     \
        {"acquire", (PyCFunction)(void (*)(void))prefix##_acquire,                           \
         METH_FASTCALL | METH_KEYWORDS,                                                      \
         "acquire($self, /, block=True, timeout=None)\n--\n\n"                               \
         "True once held; False when block is false or the timeout ran out."},               \
        {"release", (PyCFunction)prefix##_release, METH_NOARGS,                              \
         "release($self, /)\n--\n\n" release_doc},                                           \
        {"__enter__", (PyCFunction)prefix##_enter, METH_NOARGS, NULL},                       \
        {"__exit__", (PyCFunction)(void (*)(void))prefix##_exit, METH_FASTCALL, NULL},       \
        {NULL, NULL, 0, NULL},                                                               \
    }

static PyMethodDef lock_methods[] = LOCK_METHODS(lock, "Release the lock (held by this thread).");
static PyMethodDef rlock_methods[] = LOCK_METHODS(rlock, "Release one level (held by this thread).");

PyTypeObject LockCoreType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "corepool.sync._robust.LockCore",
    .tp_doc = "Acquire and release of a corepool Lock; subclasses provide _lock_failed and "
              "_refuse_release.",
    CORE_TYPE_SLOTS(sizeof(Core)),
    .tp_methods = lock_methods,
};

PyTypeObject RLockCoreType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "corepool.sync._robust.RLockCore",
    .tp_doc = "Acquire and release of a corepool RLock; subclasses provide _lock_failed and "
              "_refuse_release.",
    CORE_TYPE_SLOTS(sizeof(Core)),
    .tp_methods = rlock_methods,
};
