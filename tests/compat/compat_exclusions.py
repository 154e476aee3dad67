"""Which CPython compat tests are expected to fail, or are not run, and why: one table.

Keys are test ids ``<Class>.<test method>`` as collected from ``test_cpython_*.py``; values are a
category and a one-line reason.  ``conftest.py`` applies them:

* ``"private attribute: ..."`` and ``"not applicable: ..."`` entries are skipped (the test reads
  CPython's internals, or would exercise the standard library instead of corepool);
* every other entry is a strict ``xfail``: once corepool is fixed the test passes, the xfail turns
  into a failure, and the entry is to be deleted.

Categories: ``engine:``, ``errors:``, ``sync:``, ``manager:``, ``module surface:``,
``deliberate difference:`` (an intended improvement, listed in docs/guide.md).
"""

from __future__ import annotations

SKIPPED_CATEGORIES = ("private attribute:", "not applicable:")

EXCLUDED: dict[str, str] = {}
