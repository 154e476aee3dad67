"""The parts of ``corepool bench``, kept apart so that each can grow on its own.

workloads.py   what runs: the task functions and how many of them (sized by calibrate.py)
calibrate.py   how long one call takes here, to size the workloads to a time budget
measure.py     how it runs: serial, on threads, on processes; timing, repetitions
report.py      what the user sees: the table, or JSON for other tools
"""
