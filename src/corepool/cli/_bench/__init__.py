"""The parts of ``corepool bench``, kept apart so that each can grow on its own.

workloads.py   what runs: the built-in task functions, how many of them, the ladder of workers
userfn.py      your function (module:function --args ...) as one more workload, and its errors
calibrate.py   how long one call takes here, to size the workloads to a time budget
measure.py     how it runs: serial, then each backend x worker count; timing, repetitions
progress.py    a line per step on standard error, or a tqdm bar in a terminal
report.py      what the user sees: the table, or JSON for other tools
advice.py      what to use, read from the table's lines (pure functions)
plot.py        the PNG of time and speed-up against workers (matplotlib, optional)
"""
