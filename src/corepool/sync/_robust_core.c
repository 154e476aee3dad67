/* corepool.sync._robust: what every core type does alike.

   A core object is created empty by Python and attached once to a writable buffer (the
   mapping of a shared-memory segment: [ pthread_mutex_t (MUTEX_BYTES) | int64 fields ]).  It
   holds the buffer until it is freed, so the mapping outlives every call into the mutex. */

#include "_robust.h"

void
core_dealloc(Core *self)
{
    if (self->memory.obj != NULL) {
        PyBuffer_Release(&self->memory);
    }
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* _attach(memory): use the mutex at the start of this writable buffer, once; the buffer must
   hold the kind's fields after the mutex. */
PyObject *
core_attach(Core *self, PyObject *memory, const CoreKind *kind)
{
    Py_ssize_t needed = MUTEX_BYTES + 8 * kind->field_count;
    if (self->memory.obj != NULL) {
        PyErr_Format(PyExc_RuntimeError, "this %s is attached already", kind->noun);
        return NULL;
    }
    if (PyObject_GetBuffer(memory, &self->memory, PyBUF_WRITABLE) < 0) {
        return NULL;
    }
    if (self->memory.len < needed) {
        PyBuffer_Release(&self->memory);
        PyErr_Format(PyExc_ValueError, "%s %s needs %zd bytes, not %zd", kind->article,
                     kind->noun, needed, self->memory.len);
        return NULL;
    }
    self->mutex = (pthread_mutex_t *)self->memory.buf;
    self->fields = (int64_t *)((char *)self->memory.buf + MUTEX_BYTES);
    Py_RETURN_NONE;
}

int
core_not_attached(const CoreKind *kind)
{
    PyErr_Format(PyExc_RuntimeError, "this %s has no shared memory (not attached)", kind->noun);
    return -1;
}

/* acquire(blocking=..., timeout=...): threading's rules, turned into multiprocessing's block and
   timeout (None: no deadline).  Only the name blocking= asks for them: positional arguments
   and block= keep multiprocessing's rules (CPython's own tests call acquire(False, 1.0)). */
static int
threading_arguments(const CoreKind *kind, PyObject **block, PyObject **timeout)
{
    if (*timeout == Py_None) {
        return 0;
    }
    double seconds = PyFloat_AsDouble(*timeout);
    if (seconds == -1.0 && PyErr_Occurred()) {
        return -1;
    }
    int blocking = PyObject_IsTrue(*block);
    if (blocking < 0) {
        return -1;
    }
    int forever = kind->lock_timeouts && seconds == -1.0;
    if (!blocking && !forever) {
        PyErr_SetString(PyExc_ValueError, "can't specify a timeout for a non-blocking call");
        return -1;
    }
    if (kind->lock_timeouts && seconds < 0 && !forever) {
        PyErr_SetString(PyExc_ValueError, "timeout value must be a non-negative number");
        return -1;
    }
    if (forever) {
        *timeout = Py_None;
    }
    return 0;
}

/* acquire(block=True, timeout=None), vectorcall-style arguments; borrowed references. */
static int
parse_acquire(const CoreKind *kind, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames,
              PyObject **block, PyObject **timeout)
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
    int threading_spelling = 0, block_named = 0;
    Py_ssize_t named = kwnames == NULL ? 0 : PyTuple_GET_SIZE(kwnames);
    for (Py_ssize_t i = 0; i < named; i++) {
        PyObject *name = PyTuple_GET_ITEM(kwnames, i);
        int position;
        int threading_name = PyUnicode_CompareWithASCIIString(name, "blocking") == 0;
        if (threading_name && args[nargs + i] == Py_None) {
            continue; /* blocking=None: not given (the Python twins' default) */
        }
        if (threading_name || PyUnicode_CompareWithASCIIString(name, "block") == 0) {
            position = 0;
            if (block_named++) {
                PyErr_SetString(PyExc_TypeError,
                                "acquire() got both 'block' and 'blocking' (the same argument)");
                return -1;
            }
            threading_spelling = threading_name;
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
    return threading_spelling ? threading_arguments(kind, block, timeout) : 0;
}

/* The start of every acquire(): attached?  Then its arguments.  0, or -1 with an exception. */
int
core_parse_acquire(Core *self, const CoreKind *kind, PyObject *const *args, Py_ssize_t nargs,
                   PyObject *kwnames, PyObject **block, PyObject **timeout)
{
    if (core_check_attached(self, kind) < 0) {
        return -1;
    }
    return parse_acquire(kind, args, nargs, kwnames, block, timeout);
}
