"""Crashes, timeouts and retries: each task ends with its result or its own error."""

import ctypes
import os
import time

import corepool


def risky(n: int) -> int:
    if n == 3:
        ctypes.string_at(0)  # a segfault, for real
    if n == 5:
        time.sleep(60)  # a hang
    return n * n


def main() -> None:
    with corepool.Pool(2, timeout=2) as pool:
        for n, outcome in enumerate(_outcomes(pool.imap(risky, range(8), chunksize=4))):
            print(n, outcome)
        print("the pool still works:", pool.map(abs, [-1, -2, -3]))
        print("workers replaced so far:", pool.statistics().workers_replaced)


def _outcomes(results):  # type: ignore[no-untyped-def]
    while True:
        try:
            yield next(results)
        except StopIteration:
            return
        except (corepool.WorkerLostError, corepool.TaskTimeoutError) as error:
            yield f"{type(error).__name__}: {error}"


if __name__ == "__main__":
    print("parent pid", os.getpid())
    main()
