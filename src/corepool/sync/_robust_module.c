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
The C fast paths follow the monitor's journal protocol exactly (_robust_monitor.c), so a
process killed anywhere inside them leaves a state that the next process to enter (from C or
from Python) rolls back, as if the change had never begun.

The files (one extension module, several translation units; _robust.h declares what they
share):  _robust_waiting.c (slices, deadlines), _robust_core.c (attach, acquire() arguments),
_robust_locks.c, _robust_monitor.c, _robust_semaphore.c, _robust_event.c, and this one
(functions on a mutex address, module init).  Why separate sources rather than one file that
#includes the parts: each file compiles on its own against the header, so the compiler checks
that it needs nothing private of another; setuptools rebuilds the module when the header
changes (`depends` in pyproject.toml).  What the single file's compiler inlined into the hot
paths (the attached check, entering a monitor, journaling) is `static inline` in the header, so
an uncontended call makes the same calls as before the split (measured side by side: same
times within noise, ~0.05 us an acquire + release).
*/

#include "_robust.h"

#include <math.h>
#include <time.h>

/* What _native.EXTENSION_API expects: bump both when a function or type changes. */
#define ROBUST_API 3

int64_t this_pid;
int64_t this_token;
unsigned long main_thread;

PyObject *name_lock_failed;
PyObject *name_refuse_release;
PyObject *name_acquire_slowly;
PyObject *name_release_slowly;
PyObject *name_note_holding;
PyObject *name_set_slowly;
PyObject *name_clear_slowly;

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

/* METH_FASTCALL functions take a fixed number of arguments: 0, or -1 with TypeError. */
static int
expect_arguments(const char *function, Py_ssize_t nargs, Py_ssize_t expected)
{
    if (nargs == expected) {
        return 0;
    }
    PyErr_Format(PyExc_TypeError, "%s() takes %zd arguments (%zd given)", function, expected,
                 nargs);
    return -1;
}

/* A float argument where None stands for `if_none`: 0, or -1 with an exception. */
static int
float_or(PyObject *argument, double if_none, double *value)
{
    if (argument == Py_None) {
        *value = if_none;
        return 0;
    }
    *value = PyFloat_AsDouble(argument);
    return *value == -1.0 && PyErr_Occurred() ? -1 : 0;
}

static PyObject *
robust_lock(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (expect_arguments("lock", nargs, 2) < 0) {
        return NULL;
    }
    pthread_mutex_t *mutex = mutex_at(args[0]);
    double deadline;
    if (mutex == NULL || float_or(args[1], INFINITY, &deadline) < 0) {
        return NULL;
    }
    int result = lock_until(mutex, deadline);
    return result < 0 ? NULL : PyLong_FromLong(result);
}

/* futex_wait(address, expected, timeout): sleep while the 32-bit word equals `expected`, at
   most `timeout` seconds and one slice (callers loop and re-check, running signal handlers). */
static PyObject *
robust_futex_wait(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (expect_arguments("futex_wait", nargs, 3) < 0) {
        return NULL;
    }
    void *word = PyLong_AsVoidPtr(args[0]);
    unsigned long long expected = PyLong_AsUnsignedLongLongMask(args[1]);
    if ((word == NULL || expected == (unsigned long long)-1) && PyErr_Occurred()) {
        return NULL;
    }
    double wait = thread_slice(), timeout;
    if (float_or(args[2], INFINITY, &timeout) < 0) {
        return NULL;
    }
    if (!(timeout >= wait)) {
        wait = timeout > 0 ? timeout : 0.0; /* negative and NaN: do not sleep */
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
    if (expect_arguments("futex_wake", nargs, 2) < 0) {
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
    .m_doc = "Robust process-shared mutexes for corepool's locks (see _robust_module.c).",
    .m_size = -1,
    .m_methods = module_methods,
};

/* -- module init */

static int
intern_callback_names(void)
{
    static const struct {
        PyObject **name;
        const char *text;
    } names[] = {
        {&name_lock_failed, "_lock_failed"},
        {&name_refuse_release, "_refuse_release"},
        {&name_acquire_slowly, "_acquire_slowly"},
        {&name_release_slowly, "_release_slowly"},
        {&name_note_holding, "_note_holding"},
        {&name_set_slowly, "_set_slowly"},
        {&name_clear_slowly, "_clear_slowly"},
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        *names[i].name = PyUnicode_InternFromString(names[i].text);
        if (*names[i].name == NULL) {
            return -1;
        }
    }
    return 0;
}

static const struct {
    const char *name;
    PyTypeObject *type;
} core_types[] = {
    {"LockCore", &LockCoreType},
    {"RLockCore", &RLockCoreType},
    {"SemaphoreCore", &SemaphoreCoreType},
    {"EventCore", &EventCoreType},
};
#define CORE_TYPE_COUNT (sizeof(core_types) / sizeof(core_types[0]))

/* A layout tuple (a new reference, or NULL) as the module attribute `name`. */
static int
add_layout(PyObject *module, const char *name, PyObject *layout)
{
    if (layout == NULL) {
        return -1;
    }
    int result = PyModule_AddObjectRef(module, name, layout);
    Py_DECREF(layout);
    return result;
}

static int
add_contents(PyObject *module)
{
    for (size_t i = 0; i < CORE_TYPE_COUNT; i++) {
        if (PyModule_AddObjectRef(module, core_types[i].name, (PyObject *)core_types[i].type) < 0) {
            return -1;
        }
    }
    if (add_layout(module, "SEMAPHORE_LAYOUT", semaphore_layout()) < 0 ||
        add_layout(module, "EVENT_LAYOUT", event_layout()) < 0 ||
        PyModule_AddIntConstant(module, "MUTEX_BYTES", MUTEX_BYTES) < 0 ||
        PyModule_AddIntConstant(module, "API", ROBUST_API) < 0) {
        return -1;
    }
    return 0;
}

PyMODINIT_FUNC
PyInit__robust(void)
{
    if (intern_callback_names() < 0) {
        return NULL;
    }
    for (size_t i = 0; i < CORE_TYPE_COUNT; i++) {
        if (PyType_Ready(core_types[i].type) < 0) {
            return NULL;
        }
    }
    PyObject *module = PyModule_Create(&robust_module);
    if (module == NULL) {
        return NULL;
    }
    if (add_contents(module) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
