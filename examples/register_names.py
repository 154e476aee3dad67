"""Eight processes register names in a shared dict: the classic Manager example, two ways.

With a lock around read-then-write (works, as with multiprocessing), and with one atomic call
that needs no lock at all.
"""

import corepool

NAMES = ["Ada", "Grace", "Linus", "Grace", "Guido", "Ada", "Ada", "Ada"]


def register_with_lock(registry, name, lock):  # type: ignore[no-untyped-def]
    with lock:
        registry[name] = registry.get(name, 0) + 1


def register_atomically(registry, name):  # type: ignore[no-untyped-def]
    registry.increment(name)  # one atomic read-modify-write


def main() -> None:
    with corepool.Manager() as manager:
        registry, lock = manager.dict(), manager.Lock()
        workers = [
            corepool.Process(target=register_with_lock, args=(registry, name, lock))
            for name in NAMES
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        print("with a lock:   ", dict(sorted(registry.items())))

        counts = corepool.Dict()
        with corepool.Pool(4) as pool:
            pool.starmap(register_atomically, [(counts, name) for name in NAMES])
        print("atomic updates:", dict(sorted(counts.items())))
        counts.close()


if __name__ == "__main__":
    main()
