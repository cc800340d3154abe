"""Importing a broker's existing base: messy XLSX and CSV files in, policies and contacts out.

Public API: :func:`import_policies` with :class:`ImportOptions`; the result renders itself as
the broker's report (:func:`render_text`) and streams rejected rows to a CSV the broker can fix
and import again. See README.md in this folder for the rules (columns, values, identity,
contact matching).
"""

from amo_bridge.imports.problems import ImportFileError, Issue
from amo_bridge.imports.report import ImportResult, Summary, render_text
from amo_bridge.imports.service import KINDS, ImportOptions, import_policies

__all__ = [
    "KINDS", "ImportFileError", "ImportOptions", "ImportResult", "Issue", "Summary",
    "import_policies", "render_text",
]
