"""Producers and consumers in separate processes, joined by a corepool JoinableQueue.

The queue is passed to the processes like any argument (any start method).  An item whose put()
returned is in shared memory: even a producer that exits at once loses nothing.

    python examples/producer_consumer.py
"""

from __future__ import annotations

import multiprocessing

import corepool

STOP = None


def produce(jobs: corepool.JoinableQueue, first: int, count: int) -> None:
    for number in range(first, first + count):
        jobs.put(number)


def consume(jobs: corepool.JoinableQueue, results: corepool.Queue) -> None:
    while True:
        number = jobs.get()
        if number is STOP:
            jobs.task_done()
            return
        results.put((number, number * number))
        jobs.task_done()


def main() -> None:
    context = multiprocessing.get_context("spawn")  # fork and forkserver work too
    jobs, results = corepool.JoinableQueue(maxsize=100), corepool.Queue()
    consumers = [context.Process(target=consume, args=(jobs, results)) for _ in range(3)]
    producers = [context.Process(target=produce, args=(jobs, start, 500)) for start in (0, 500)]
    for process in consumers + producers:
        process.start()
    for producer in producers:
        producer.join()
    jobs.join()  # every item put so far has been taken and marked done
    for _ in consumers:
        jobs.put(STOP)
    for consumer in consumers:
        consumer.join()
    squares = dict(results.get() for _ in range(1000))
    print(f"{len(squares)} squares computed by {len(consumers)} consumers; 999² = {squares[999]}")
    assert squares == {number: number * number for number in range(1000)}


if __name__ == "__main__":
    main()
