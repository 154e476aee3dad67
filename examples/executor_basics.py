"""The concurrent.futures API on corepool: submit, as_completed, map, schedule options."""

import concurrent.futures
import math

import corepool

PRIMES = [112272535095293, 112582705942171, 115280095190773, 1099726899285419]


def is_prime(n: int) -> bool:
    if n % 2 == 0:
        return n == 2
    return all(n % d for d in range(3, math.isqrt(n) + 1, 2))


def main() -> None:
    with corepool.ProcessPoolExecutor(max_workers=2) as executor:
        futures = {executor.submit(is_prime, n): n for n in PRIMES}
        for future in concurrent.futures.as_completed(futures):
            print(futures[future], "is prime:", future.result())
        print(list(executor.map(is_prime, PRIMES)))
        urgent = executor.schedule(is_prime, (97,), priority=10)
        print("scheduled with priority:", urgent.result())


if __name__ == "__main__":
    main()
