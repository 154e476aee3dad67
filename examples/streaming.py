"""imap over an endless generator: the input is read only as fast as results are consumed."""

import itertools

import corepool


def collatz_steps(n: int) -> int:
    steps = 0
    while n > 1:
        n = 3 * n + 1 if n % 2 else n // 2
        steps += 1
    return steps


def main() -> None:
    with corepool.Pool(2) as pool:
        best = (0, 0)
        for n, steps in enumerate(pool.imap(collatz_steps, itertools.count(1)), start=1):
            best = max(best, (steps, n))
            if n == 200_000:
                break  # leaving the loop stops the call: no more input is read
        print(f"longest Collatz chain below 200,000 starts at {best[1]} ({best[0]} steps)")
        stats = pool.statistics()
        print(f"{stats.tasks_done} tasks in {stats.chunks_done} messages")


if __name__ == "__main__":
    main()
