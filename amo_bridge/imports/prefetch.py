"""Reading a big XLSX in a helper process while the import works on the rows already read.

openpyxl's read-only parser is pure Python and single-threaded: for a 100 000-row base it is
about half of the import's time. A helper process (``python -m amo_bridge.imports.prefetch``,
still openpyxl in read-only mode) parses the sheet and streams rows in pickled chunks over its
stdout, so parsing and validating/writing overlap on two cores. The pipe's buffer is the
back-pressure: the helper never runs far ahead, so memory stays flat.

A plain subprocess rather than ``multiprocessing``: a spawned ``multiprocessing`` child re-runs
the parent's main script, which is wrong for whatever script happens to call the importer.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from amo_bridge.imports.problems import ImportFileError

CHUNK = 500  # rows per message: big enough to make pickling cheap, small enough to stream
#: Below this many rows the helper's start-up (a fresh interpreter) costs more than it saves.
MIN_ROWS = 20_000


def prefetched_rows(source: bytes | Path | str, sheet: str, first_row: int
                    ) -> Iterator[tuple[Any, ...]]:
    """The rows of ``sheet`` from ``first_row`` on, parsed in a helper process."""
    temporary = None
    if isinstance(source, bytes):
        handle, temporary = tempfile.mkstemp(suffix=".xlsx")
        with os.fdopen(handle, "wb") as file:
            file.write(source)
        source = temporary
    root = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        p for p in (root, os.environ.get("PYTHONPATH", "")) if p)}
    errors = tempfile.TemporaryFile()  # a file, not a pipe: nobody has to drain it
    helper = subprocess.Popen(  # noqa: S603 - our own module, arguments are not a shell line
        [sys.executable, "-m", "amo_bridge.imports.prefetch", str(source), sheet,
         str(first_row)], stdout=subprocess.PIPE, stderr=errors, env=env)
    assert helper.stdout is not None
    finished = False
    try:
        while True:
            try:
                message = pickle.load(helper.stdout)  # noqa: S301 - from our own helper
            except EOFError:
                helper.wait(timeout=30)
                errors.seek(0)
                reason = errors.read().decode(errors="replace").strip()[-300:]
                raise ImportFileError("import.file.unreadable",
                                      reason=reason or "the sheet reader stopped") from None
            if message is None:
                finished = True
                return
            if isinstance(message, tuple) and message[:1] == ("error",):
                raise ImportFileError("import.file.unreadable", reason=message[1])
            yield from message
    finally:
        if not finished and helper.poll() is None:
            helper.kill()  # the import stopped early: the rest of the sheet is not needed
        helper.stdout.close()
        helper.wait(timeout=30)
        errors.close()
        if temporary is not None:
            os.unlink(temporary)


def _serve(path: str, sheet: str, first_row: int) -> int:
    """The helper: stream the sheet's rows from ``first_row`` on, then ``None``."""
    from openpyxl import load_workbook

    out = sys.stdout.buffer
    try:
        book = load_workbook(path, read_only=True, data_only=True)
        ws = book[sheet]
        ws.reset_dimensions()
        chunk: list[tuple[Any, ...]] = []
        for row in ws.iter_rows(min_row=first_row, values_only=True):
            chunk.append(row)
            if len(chunk) == CHUNK:
                pickle.dump(chunk, out, protocol=pickle.HIGHEST_PROTOCOL)
                chunk = []
        if chunk:
            pickle.dump(chunk, out, protocol=pickle.HIGHEST_PROTOCOL)
        book.close()
        pickle.dump(None, out)
    except BrokenPipeError:
        return 0  # the importer stopped reading
    except Exception as exc:  # noqa: BLE001 - reported to the importer, which raises it
        pickle.dump(("error", f"{type(exc).__name__}: {exc}"), out)
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(_serve(sys.argv[1], sys.argv[2], int(sys.argv[3])))
