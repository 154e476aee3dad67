"""Side-by-side benchmarks of corepool against its peers (see ``benchmarks/README.md``).

run.py ── plan (workloads x rows x repetitions, round-robin) ──▶ fresh subprocess per run
                                                              (python -m sidebyside.child)
       ◀── one JSON line per run: seconds, peak RSS, extras ───┘
       ── stats (median, min, max, ratios, targets) ──▶ report: terminal, markdown, JSON
"""
