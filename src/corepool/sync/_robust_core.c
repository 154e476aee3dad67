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

/* acquire(block=True, timeout=None), vectorcall-style arguments; borrowed references. */
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

/* The start of every acquire(): attached?  Then its arguments.  0, or -1 with an exception. */
int
core_parse_acquire(Core *self, const CoreKind *kind, PyObject *const *args, Py_ssize_t nargs,
                   PyObject *kwnames, PyObject **block, PyObject **timeout)
{
    if (core_check_attached(self, kind) < 0) {
        return -1;
    }
    return parse_acquire(args, nargs, kwnames, block, timeout);
}
