"""The multiprocessing.Pool API on corepool: apply, callbacks, map, imap, starmap."""

import os

import corepool


def fib(n: int) -> int:
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a


def main() -> None:
    collected: list[int] = []
    with corepool.Pool(2) as pool:
        print("apply:", pool.apply(fib, (30,)))
        for n in range(5, 10):
            pool.apply_async(fib, (n,), callback=collected.append)
        print("map:", pool.map(fib, range(10)))
        print("imap_unordered:", sorted(pool.imap_unordered(fib, range(10))))
        print("starmap:", pool.starmap(pow, [(2, 10), (3, 3)]))
        print("lambda:", pool.map(lambda x: x * x, range(5)))
        print("ran in processes", {pid for pid in pool.map(lambda _: os.getpid(), range(8))})
        pool.close()
        pool.join()
    print("callbacks saw:", sorted(collected))


if __name__ == "__main__":
    main()
