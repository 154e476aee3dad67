/* corepool.sync._robust: waiting for a mutex, in slices that let signal handlers run.

   A blocked acquire() waits with the GIL released in slices of at most INTERRUPT_SLICE in the
   main thread: a Python signal handler (Ctrl-C) runs only between two slices, so the slice is
   the main thread's Ctrl-C latency (as _ctypes_calls). */

#include "_robust.h"

#include <math.h>
#include <time.h>

#define INTERRUPT_SLICE 0.05
#define OTHER_THREAD_SLICE 1.0

#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 30))
#define HAVE_CLOCKLOCK 1
#endif

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

/* The longest uninterrupted wait of the calling thread. */
double
thread_slice(void)
{
    return PyThread_get_thread_ident() == main_thread ? INTERRUPT_SLICE : OTHER_THREAD_SLICE;
}

/* Lock, waiting until `deadline` (CLOCK_MONOTONIC seconds, INFINITY: forever).  Returns the
   pthread result (0, EOWNERDEAD, ETIMEDOUT, EDEADLK...), or -1 with an exception set when a
   signal handler raised between two slices. */
int
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

/* The deadline of an acquire(timeout=...), by multiprocessing's rules: None waits forever, a
   negative (or NaN) timeout means "do not wait".  0, or -1 with an exception set. */
int
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
