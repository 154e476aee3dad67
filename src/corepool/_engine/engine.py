"""The engine: one object behind every front door, the same for threads and processes.

    user thread                      loop thread ("corepool-dispatcher")        workers
    ───────────                      ───────────────────────────────────        ───────
    submit_task(TaskRequest) ─ Preparer ─▶ Dispatcher.submit ─▶ pending ─▶ run(chunk) ─▶ worker
    submit_map(MapRequest) ─▶ Feeder thread ─┘ (one thread per map call,          │ position
                     cuts and prepares chunks while the window has room)          ▼
                                     chunk_finished ◀── Done / LocalDone ◀───────┘
                                     worker_exited  ◀── process sentinel
                                            │ outcome
                                            ▼
    AsyncResult / Future / iterator ◀── results thread ("corepool-results"):
                                        unpickle, resolve, run callbacks in completion order
                                        (a quick outcome for a sink without callbacks: the
                                        dispatcher delivers it itself, see sinks.py)

Only the loop thread touches the dispatcher's state; other threads hand it work with
``call_soon_threadsafe``.  The engine's own state (running, closed, terminated) is guarded by one
lock so that a submit racing a close is either accepted whole or refused whole.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from corepool import errors
from corepool._backends.base import Backend
from corepool._choice import Choice
from corepool._engine.chunking import ChunkSizer
from corepool._engine.dispatcher import Dispatcher
from corepool._engine.feeder import Feeder
from corepool._engine.limits import WorkerLimits
from corepool._engine.loop_thread import LoopThread
from corepool._engine.losses import termination_error
from corepool._engine.preparation import Preparer
from corepool._engine.queueing import WindowWidening
from corepool._engine.requests import MapRequest, TaskRequest
from corepool._engine.results_thread import ResultsThread
from corepool._engine.sinks import Sink
from corepool._engine.tasks import Chunk, Job
from corepool._engine.window import BlockLedger, Window, items_in_window
from corepool._lifecycle import signals
from corepool._wire.messages import CallStyle
from corepool.errors import CorepoolError, PoolClosedError
from corepool.settings import Settings

# How long cancelling a streaming call waits for a read of its input in progress (one chunk of a
# generator: milliseconds); a generator that blocks longer is left to end in the background.
_WAIT_FOR_READER_SECONDS = 1.0

if TYPE_CHECKING:  # loaded when asked for: ~5-10 ms of every program's first pool otherwise
    from corepool.insights.report import PoolInsights
    from corepool.insights.statistics import PoolStatistics


class EngineState(Choice):
    RUNNING = "running"
    CLOSED = "closed"
    TERMINATED = "terminated"


class Engine:
    def __init__(
        self,
        backend: Backend,
        size: int,
        settings: Settings,
        *,
        limits: WorkerLimits | None = None,
        broken_without_threads: bool = False,
    ) -> None:
        """``broken_without_threads``: if the engine's threads cannot start (Python is
        finalizing), the engine is born broken (``broken`` says why) instead of raising; so do the
        standard executors, which start their threads at the first task and then fail it with
        ``BrokenProcessPool``, where ``multiprocessing.Pool`` raises in its constructor."""
        self.backend = backend
        self.size = size
        self.settings = settings
        self._lock = threading.Lock()
        self._state = EngineState.RUNNING
        self._finished = threading.Event()
        self._streams: dict[int, tuple[Window, Sink]] = {}
        self._unstarted: errors.WorkerStartError | None = None
        self._results = ResultsThread()
        self._preparer = Preparer(backend)
        self._loop_thread = LoopThread("corepool-dispatcher", self._internal_error)
        self._dispatcher = Dispatcher(
            self._loop_thread,
            backend,
            size,
            settings,
            self._results,
            self._preparer,
            self._dispatcher_finished,
            limits,
        )
        try:
            self._results.start()
            self._loop_thread.start()
        except RuntimeError as error:  # "can't create new thread at interpreter shutdown"
            self._born_broken(error)
            if not broken_without_threads:
                raise
            return
        signals.pool_started()
        try:
            self._loop_thread.call_and_wait(self._dispatcher.start)
        except BaseException:
            self.terminate()
            self.join()
            raise

    @property
    def state(self) -> str:
        return self._state.value

    @property
    def running(self) -> bool:
        return self._state is EngineState.RUNNING

    @property
    def broken(self) -> BaseException | None:
        """Why no task can run any more (threads or workers cannot start, an initializer
        failed), or None."""
        return self._unstarted or self._dispatcher.broken

    def _born_broken(self, error: RuntimeError) -> None:
        problem = errors.WorkerStartError(f"the pool cannot start its threads: {error}")
        problem.__cause__ = error
        self._unstarted = problem
        self._state = EngineState.TERMINATED
        self._results.stop(join=False)  # if it started: it ends at once, nothing was posted
        self._loop_thread.loop.close()
        self.backend.close()
        self._finished.set()

    # -- submitting work (any thread)

    def submit_task(self, request: TaskRequest, sink: Sink) -> Job:
        """One task (``apply_async``, ``submit``)."""
        self._check_running()
        fn = request.fn
        sizer = ChunkSizer(fn, self.size, self.settings, explicit=1)
        job = Job(fn, CallStyle.APPLY, request.options, sink, sizer, request.label)
        chunk = Chunk(job, 0, [(request.args, request.kwargs)])
        try:
            self._preparer.job(job)
        except Exception as error:  # noqa: BLE001 - the function cannot travel: the task fails
            self._results.post(sink.deliver, 0, [None], {0: _pickling_failed(error)})
            return job
        self._preparer.chunk(chunk)
        with self._lock:
            self._check_running()
            self._loop_thread.call(self._dispatcher.submit, [chunk])
        return job

    def submit_map(self, request: MapRequest, sink: Sink) -> Job:
        """Many tasks from an iterable (``map``, ``imap``...), fed through a bounded window."""
        self._check_running()
        fn = request.fn
        settings = self.settings
        if request.window_slots is not None and request.chunksize is None:
            # A buffersize wider than the default window: smaller automatic chunks, same items.
            most = items_in_window(settings, self.window_slots(), request.window_slots)
            settings = settings._replace(max_chunk_items=most)
        sizer = ChunkSizer(fn, self.size, settings, total=request.total, explicit=request.chunksize)
        window = Window(request.window_slots or self.window_slots())
        widening = None
        if request.window_slots is None:  # a buffersize is the caller's to choose
            widening = WindowWidening(window, sizer, self.size, self.settings, window.slots)
        sink.ledger = BlockLedger(window)
        progress = None
        if request.progress is not None and request.progress is not False:
            from corepool.insights.progress import open_progress  # only with progress=

            progress = open_progress(request.progress, request.total, request.label)
        if progress is not None:
            from corepool._engine.progress_sink import ProgressSink  # only with progress=

            inner, sink = sink, ProgressSink(sink, progress, request.total)
            sink.ledger = inner.ledger
        job = Job(fn, request.style, request.options, sink, sizer, request.label)
        job.waiting_caller = request.waiting_caller
        try:
            self._preparer.job(job)
        except Exception as error:  # noqa: BLE001 - the function cannot travel: the call fails
            self._results.post(sink.input_failed, 0, _pickling_failed(error))
            return job
        feeder = Feeder(
            job, request.items, window, self._submit_chunks, self._results.post, self._fed, widening
        )
        with self._lock:
            self._check_running()
            self._streams[job.id] = (window, sink)
            self._loop_thread.call(self._dispatcher.feeder_started)
        feeder.start()
        return job

    def window_slots(self) -> int:
        settings = self.settings
        return max(settings.min_window_chunks, self.size * settings.window_chunks_per_worker)

    def _submit_chunks(self, chunks: list[Chunk]) -> None:
        """On a feeder thread: prepare the chunks it cut and hand them to the dispatcher."""
        for chunk in chunks:
            self._preparer.chunk(chunk)
        try:
            self._loop_thread.call(self._dispatcher.submit, chunks)
        except RuntimeError:  # the loop is closed: the pool was terminated
            chunks[0].job.cancelled = True

    def _fed(self, job: Job) -> None:
        with self._lock:
            self._streams.pop(job.id, None)
            try:
                self._loop_thread.call(self._dispatcher.feeder_finished)
            except RuntimeError:  # the loop closed meanwhile (the pool ended): nothing to tell
                pass

    def cancel(self, job: Job, *, stop_running: bool = False) -> None:
        """Stop a job: no more of its input is read and its pending tasks are dropped; with
        ``stop_running``, its running tasks are stopped too (their workers are replaced)."""
        job.stop_running = job.stop_running or stop_running
        job.cancelled = True
        self._results.post(job.sink.abandon)  # after the outcomes already on their way
        with self._lock:
            stream = self._streams.get(job.id)
            if stream is not None:
                stream[0].close()
            try:
                self._loop_thread.call(self._dispatcher.cancel_job_tasks, job.id, stop_running)
            except RuntimeError:  # the loop closed meanwhile: no task of the job is left
                pass
        if stream is not None:  # no more of the input is read once this returns
            stream[0].wait_for_reader(_WAIT_FOR_READER_SECONDS)

    def _check_running(self) -> None:
        if self._state is not EngineState.RUNNING:
            raise PoolClosedError(f"the pool is {self._state.value}: it takes no new tasks")

    # -- shutting down

    def close(self) -> None:
        """Take no new work; finish what was submitted, then let the workers exit."""
        with self._lock:
            if self._state is not EngineState.RUNNING:
                return
            self._state = EngineState.CLOSED
            self._loop_thread.call(self._dispatcher.close)

    def terminate(self) -> None:
        """Stop everything now: pending and running tasks fail with TaskCancelledError."""
        self._terminate(None)

    def _internal_error(self, error: BaseException) -> None:
        # On the loop thread: a bug in the dispatcher.  Fail every task with an error that says
        # so, instead of leaving callers waiting on results that will never come.
        problem = CorepoolError(f"corepool internal error: {type(error).__name__}: {error}")
        problem.__cause__ = error
        self._terminate(problem)

    def _terminate(self, error: BaseException | None) -> None:
        """``error``: what unfinished tasks fail with; None: ``termination_error()``."""
        with self._lock:
            if self._state is EngineState.TERMINATED:
                return
            self._state = EngineState.TERMINATED
            sinks = [sink for _, sink in self._streams.values()]
            for window, _ in self._streams.values():
                window.close()
            if self._loop_thread.is_current:
                self._terminate_on_loop(sinks, error)
                return
            try:
                self._loop_thread.call(self._terminate_on_loop, sinks, error)
            except RuntimeError:  # the loop already ended: every task had finished
                pass

    def _terminate_on_loop(self, sinks: list[Sink], error: BaseException | None) -> None:
        self._dispatcher.terminate(error)
        # A stream stays listed until its feeder thread reports, which may come after its last
        # outcome: no error is made for it then (``termination_error`` imports
        # ``concurrent.futures``, which a program of Pools never loads otherwise).
        sinks = [sink for sink in sinks if not sink.settled]
        if sinks:
            error = error or termination_error()
            for sink in sinks:
                self._results.post(sink.cancel, error)

    def join(self, timeout: float | None = None) -> bool:
        """Wait until every worker has exited; True if they did within ``timeout``."""
        if not self._finished.wait(timeout):
            return False
        self._loop_thread.join()
        self._preparer.join()
        self._results.join()
        signals.restore_if_unused()
        return True

    def _dispatcher_finished(self) -> None:
        # On the loop thread, once every worker has exited.  The statistics are not taken now but
        # when asked for (``statistics``): most programs never ask, and would pay their import.
        signals.pool_ended()
        self._loop_thread.stop()
        self._results.post(self._finished.set)
        self._results.stop(join=False)

    @property
    def finished(self) -> bool:
        return self._finished.is_set()

    # -- insight

    def insights(self) -> PoolInsights:
        return self._loop_thread.call_and_wait(self._dispatcher.insights)

    def statistics(self) -> PoolStatistics:
        if not self._finished.is_set() and not self._loop_thread.is_current:
            try:
                return self._loop_thread.call_and_wait(self._dispatcher.statistics)
            except RuntimeError:  # the loop closed meanwhile
                pass
        # The loop has ended (or is on its way out, past its last callback): once its thread is
        # gone nothing changes the dispatcher's state any more, and any thread may read it.
        if not self._loop_thread.is_current:
            self._loop_thread.join()
        return self._dispatcher.statistics()


def _pickling_failed(error: BaseException) -> BaseException:
    """What a call whose function cannot be pickled fails with (the error path's modules load
    only when it is taken)."""
    from corepool._wire.rebuild import local_error
    from corepool._wire.remote_error import Stage

    return local_error(error, Stage.PICKLE_CALL)
