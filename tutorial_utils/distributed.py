"""Old name, kept only so that older imports keep working: use :mod:`tutorial_utils.storage` instead.

Notebook 09's helpers are in :mod:`tutorial_utils.scaling`; the headless toy worker and the throughput
measurement moved to ``benchmarks/bench_workers.py`` (``python -m benchmarks.bench_workers worker ...``).
"""

from __future__ import annotations

from .storage import (  # noqa: F401 - re-exported under the old name
    CONNECT_TIMEOUT_S,
    JOURNAL_PREFIX,
    URL_EXAMPLES,
    StorageError,
    check_url,
    explain_storage_error,
    make_storage,
    masked,
)
