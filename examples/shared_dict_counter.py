"""Eight processes count words into one shared dict, without losing a single update.

    python examples/shared_dict_counter.py

The racy spelling, ``counts[word] += 1``, reads and writes in two steps: two processes can read
the same old value and one increment is lost.  ``counts.increment(word)`` is one atomic step.
"""

from __future__ import annotations

import corepool

TEXT = ["the", "quick", "brown", "fox", "jumps", "over", "the", "lazy", "dog", "the", "end"]


def count_words(counts: corepool.Dict, repeat: int) -> int:
    for _ in range(repeat):
        for word in TEXT:
            counts.increment(word)  # atomic: never loses an update
    return repeat * len(TEXT)


def register(registry: corepool.Dict, worker_name: str) -> None:
    # Several keys changed together: readers see all of them or none.
    with registry.transaction():
        registry[worker_name] = "ready"
        registry["ready"] = registry.get("ready", 0) + 1


def main() -> None:
    with corepool.Dict() as counts, corepool.Dict() as registry, corepool.Pool(8) as pool:
        counted = pool.starmap(count_words, [(counts, 250)] * 8)
        pool.starmap(register, [(registry, f"worker-{index}") for index in range(8)])

        assert sum(counts.values()) == sum(counted)  # nothing lost
        assert counts["the"] == 8 * 250 * TEXT.count("the")
        assert registry["ready"] == 8
        print(f"{sum(counted)} words counted by 8 processes: {dict(sorted(counts.items()))}")
        print(f"registered: {sorted(key for key in registry if key != 'ready')}")


if __name__ == "__main__":
    main()
