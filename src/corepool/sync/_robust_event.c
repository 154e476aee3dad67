/* corepool.sync._robust: EventCore, set, clear and is_set of an Event; wait stays in Python
   (it sleeps).

   Event.set() / clear() ─▶ EventCore: trylock the monitor ─▶ change the flag, unlock
                              │ busy, errors
                              ▼
                            self._set_slowly() / self._clear_slowly()  (Python)

   Fields (after the monitor's; layout owned by event.py): [ flag | wake word | sleepers ].
   set() changes the wake word under the mutex and wakes only when someone sleeps on it (a
   futex wake is a system call, ~0.3 us, paid by every set() before sleepers were counted). */

#include "_robust.h"

enum { EVENT_FLAG = MONITOR_FIRST_FIELD, EVENT_WAKE, EVENT_SLEEPERS, EVENT_END };

static const CoreKind EVENT_KIND = {"event", "an", EVENT_END, 0};

static PyObject *
event_attach(Core *self, PyObject *memory)
{
    return core_attach(self, memory, &EVENT_KIND);
}

/* Enter the monitor without waiting: 0, the pthread result, or -1 (not attached). */
static int
event_try_enter(Core *self)
{
    if (core_check_attached(self, &EVENT_KIND) < 0) {
        return -1;
    }
    return monitor_try_enter(self, EVENT_END);
}

static PyObject *
event_set(Core *self, PyObject *unused)
{
    int entered = event_try_enter(self);
    if (entered != 0) {
        return entered < 0 ? NULL : PyObject_CallMethodNoArgs((PyObject *)self, name_set_slowly);
    }
    field_t *fields = monitor_fields(self);
    fields[EVENT_FLAG] = 1;
    fields[EVENT_WAKE] = (fields[EVENT_WAKE] + 1) & SEQUENCE_MASK;
    int64_t sleepers = fields[EVENT_SLEEPERS];
    pthread_mutex_unlock(self->mutex);
    if (sleepers) {
        wake_field(&fields[EVENT_WAKE], 0x7FFFFFFF); /* every sleeper */
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
    monitor_fields(self)[EVENT_FLAG] = 0;
    pthread_mutex_unlock(self->mutex);
    Py_RETURN_NONE;
}

static PyObject *
event_is_set(Core *self, PyObject *unused)
{
    if (core_check_attached(self, &EVENT_KIND) < 0) {
        return NULL;
    }
    return PyBool_FromLong(monitor_fields(self)[EVENT_FLAG] != 0);
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

PyTypeObject EventCoreType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "corepool.sync._robust.EventCore",
    .tp_doc = "set, clear and is_set of a corepool Event; subclasses provide _set_slowly and "
              "_clear_slowly (a busy monitor).",
    CORE_TYPE_SLOTS(sizeof(Core)),
    .tp_methods = event_methods,
};

/* EVENT_LAYOUT: what this build assumes of event.py (a test compares): (flag, wake word,
   sleepers). */
PyObject *
event_layout(void)
{
    return Py_BuildValue("(iii)", EVENT_FLAG, EVENT_WAKE, EVENT_SLEEPERS);
}
