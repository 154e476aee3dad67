/* corepool._worker._fastpath: the per-item work of a worker's loop, in C (optional).

    run_items ─ results.extend(map(fn, tracked(items, row, ITEM, start)))
                                         │ each next(): row[ITEM] = index of the item handed out
                                         ▼
                the progress board (shared memory the parent reads when the worker is lost)

    pack_results ─ all_atoms(results): may the results share one pickle?
                 ─ machine_numbers(values): all ints (int64) or all floats? their raw bytes

Why C: for a function of ~50 ns (``x * x``) the Python twins in ``progress.py`` and
``_wire/serialization.py`` cost another ~50 ns and ~16 ns per item, so a worker spent more time
on bookkeeping than on the user's work, and ``imap`` of tiny tasks ran at ~0.85x of
``multiprocessing.Pool.imap``.  Here the store is one 8-byte write, the check one type test.
Without a compiler corepool uses the Python twins; behaviour is the same.
*/

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

/* -- tracked: an iterator that writes each item's index to a slot of the board */

typedef struct {
    PyObject_HEAD
    PyObject *items;          /* iterator over the items */
    Py_buffer row;            /* the worker's row of the board, held while iterating */
    volatile int64_t *slot;   /* row[slot]: written before each item is handed out */
    int64_t next_index;
} TrackedObject;

static void
tracked_dealloc(TrackedObject *self)
{
    PyObject_GC_UnTrack(self);
    Py_CLEAR(self->items);
    if (self->row.obj != NULL) {
        PyBuffer_Release(&self->row);
    }
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int
tracked_traverse(TrackedObject *self, visitproc visit, void *arg)
{
    Py_VISIT(self->items);
    Py_VISIT(self->row.obj);
    return 0;
}

static PyObject *
tracked_next(TrackedObject *self)
{
    PyObject *item = PyIter_Next(self->items);
    if (item != NULL) {
        *self->slot = self->next_index++;
    }
    return item;
}

static PyTypeObject TrackedType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "corepool._worker._fastpath.tracked",
    .tp_basicsize = sizeof(TrackedObject),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_dealloc = (destructor)tracked_dealloc,
    .tp_traverse = (traverseproc)tracked_traverse,
    .tp_iter = PyObject_SelfIter,
    .tp_iternext = (iternextfunc)tracked_next,
    .tp_doc = "tracked(items, row, slot, start): iterate items, storing each index in row[slot]",
};

static PyObject *
fastpath_tracked(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 4) {
        PyErr_SetString(PyExc_TypeError, "tracked(items, row, slot, start) takes 4 arguments");
        return NULL;
    }
    Py_ssize_t slot = PyLong_AsSsize_t(args[2]);
    long long start = PyLong_AsLongLong(args[3]);
    if ((slot == -1 || start == -1) && PyErr_Occurred()) {
        return NULL;
    }
    TrackedObject *self = PyObject_GC_New(TrackedObject, &TrackedType);
    if (self == NULL) {
        return NULL;
    }
    self->items = NULL;
    self->row.obj = NULL;
    if (PyObject_GetBuffer(args[1], &self->row, PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS) < 0) {
        self->row.obj = NULL;
        Py_DECREF(self);
        return NULL;
    }
    if (slot < 0 || (size_t)self->row.len < (size_t)(slot + 1) * sizeof(int64_t)) {
        PyErr_Format(PyExc_IndexError, "slot %zd is outside a row of %zd bytes", slot,
                     self->row.len);
        Py_DECREF(self);
        return NULL;
    }
    self->slot = (volatile int64_t *)self->row.buf + slot;
    self->next_index = start;
    self->items = PyObject_GetIter(args[0]);
    if (self->items == NULL) {
        Py_DECREF(self);
        return NULL;
    }
    PyObject_GC_Track(self);
    return (PyObject *)self;
}

/* -- all_atoms: whether every element has a type whose pickle cannot fail to unpickle */

static PyObject *
fastpath_all_atoms(PyObject *module, PyObject *values)
{
    if (!PyList_CheckExact(values)) {
        PyErr_SetString(PyExc_TypeError, "all_atoms() takes a list");
        return NULL;
    }
    Py_ssize_t size = PyList_GET_SIZE(values);
    for (Py_ssize_t i = 0; i < size; i++) {
        PyObject *value = PyList_GET_ITEM(values, i);
        if (!(PyLong_CheckExact(value) || PyFloat_CheckExact(value) ||
              PyUnicode_CheckExact(value) || PyBytes_CheckExact(value) || value == Py_None ||
              PyBool_Check(value) || PyComplex_CheckExact(value))) {
            Py_RETURN_FALSE;
        }
    }
    Py_RETURN_TRUE;
}

/* -- machine_numbers: a list of only ints (each fits in int64) or only floats, as raw bytes

Unpickling a list of 10,000 ints costs ~50 ns an int in the parent (pickle builds each from its
own opcode); the same ints as an array's bytes come back through ``array.tolist()`` in ~20 ns.
Exact types only: a bool or an int subclass must come back as itself, so it keeps the pickle. */

static PyObject *
fastpath_machine_numbers(PyObject *module, PyObject *values)
{
    if (!PyList_CheckExact(values)) {
        PyErr_SetString(PyExc_TypeError, "machine_numbers() takes a list");
        return NULL;
    }
    Py_ssize_t size = PyList_GET_SIZE(values);
    if (size == 0) {
        Py_RETURN_NONE;
    }
    int floats = PyFloat_CheckExact(PyList_GET_ITEM(values, 0));
    if (!floats && !PyLong_CheckExact(PyList_GET_ITEM(values, 0))) {
        Py_RETURN_NONE;
    }
    PyObject *raw = PyBytes_FromStringAndSize(NULL, size * 8);
    if (raw == NULL) {
        return NULL;
    }
    char *out = PyBytes_AS_STRING(raw);
    for (Py_ssize_t i = 0; i < size; i++) {
        PyObject *value = PyList_GET_ITEM(values, i);
        if (floats) {
            if (!PyFloat_CheckExact(value)) {
                goto not_numbers;
            }
            double number = PyFloat_AS_DOUBLE(value);
            memcpy(out + i * 8, &number, 8);
        }
        else {
            if (!PyLong_CheckExact(value)) {
                goto not_numbers;
            }
            int overflow = 0;
            long long number = PyLong_AsLongLongAndOverflow(value, &overflow);
            if (overflow != 0) {
                goto not_numbers;
            }
            int64_t stored = (int64_t)number;
            memcpy(out + i * 8, &stored, 8);
        }
    }
    return Py_BuildValue("(CN)", floats ? 'd' : 'q', raw);

not_numbers:
    Py_DECREF(raw);
    Py_RETURN_NONE;
}

static PyMethodDef fastpath_methods[] = {
    {"tracked", (PyCFunction)(void (*)(void))fastpath_tracked, METH_FASTCALL,
     "tracked(items, row, slot, start) -> iterator storing each item's index in row[slot]"},
    {"all_atoms", fastpath_all_atoms, METH_O,
     "all_atoms(values) -> whether every value is an int, float, complex, str, bytes, bool "
     "or None (exactly those types)"},
    {"machine_numbers", fastpath_machine_numbers, METH_O,
     "machine_numbers(values) -> ('q', bytes) when every value is an int (exactly) that fits in "
     "64 bits, ('d', bytes) when every value is a float (exactly), else None"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef fastpath_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "corepool._worker._fastpath",
    .m_doc = "The per-item bookkeeping of corepool's worker loop, in C.",
    .m_size = -1,
    .m_methods = fastpath_methods,
};

PyMODINIT_FUNC
PyInit__fastpath(void)
{
    if (PyType_Ready(&TrackedType) < 0) {
        return NULL;
    }
    return PyModule_Create(&fastpath_module);
}
