"""The report writers by name: the only list of them (``json``, ``vtt``, ``html``, ``pdf``).

Each writer is imported when it first writes, so the CLI can offer the names as ``click.Choice(sorted(WRITERS))``
without loading the report stack (numpy, the store). Every writer is ``write(report, settings) -> str | bytes``.

>>> sorted(WRITERS), WRITERS["vtt"].mimetype
(['html', 'json', 'pdf', 'vtt'], 'text/vtt')
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from voicerehearse.report_model import SessionReport
    from voicerehearse.settings import Settings


@dataclass(frozen=True)
class Writer:
    name: str
    extension: str
    mimetype: str
    target: str  # "module:function" of the writer

    def write(self, report: SessionReport, settings: Settings | None = None) -> str | bytes:
        """The report in this format; ``settings`` from the edge (default: the built-in defaults)."""
        from voicerehearse.settings import DEFAULTS

        module, attr = self.target.split(":")
        return getattr(importlib.import_module(module), attr)(report, settings if settings is not None else DEFAULTS)


WRITERS: dict[str, Writer] = {
    "json": Writer("json", "json", "application/json", "voicerehearse.report_text:write_json"),
    "vtt": Writer("vtt", "vtt", "text/vtt", "voicerehearse.report_text:write_vtt"),
    "html": Writer("html", "html", "text/html", "voicerehearse.report_html:write_html"),
    "pdf": Writer("pdf", "pdf", "application/pdf", "voicerehearse.report_html:write_pdf"),
}


def get_writer(fmt: str) -> Writer:
    """The writer called ``fmt``; ReportError for a name that is none of them."""
    try:
        return WRITERS[fmt]
    except KeyError:
        from voicerehearse.report_model import ReportError

        raise ReportError(f"unknown report format {fmt!r}; choose one of {', '.join(sorted(WRITERS))}") from None


def render(report: SessionReport, fmt: str, settings: Settings | None = None) -> str | bytes:
    return get_writer(fmt).write(report, settings)
