"""Writing figures to files: PNG/SVG through kaleido (which drives the system's headless Chromium),
HTML as one self-contained page (plotly.js inlined, so it opens offline). Every file is written to a
temporary name beside it and renamed at the end: a failure leaves nothing half-written.
"""

from __future__ import annotations

import html
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from engine.errors import MtcError

if TYPE_CHECKING:
    import plotly.graph_objects as go

FORMATS = {".png": "png", ".svg": "svg", ".html": "html"}
WIDTH, HEIGHT = 900, 560


def output_format(path: Path) -> str:
    """``png``, ``svg`` or ``html`` from the file name; refuses other suffixes and missing folders."""
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise MtcError(f"--output {str(path)!r}: name a .png, .svg or .html file")
    if not path.parent.is_dir():
        raise MtcError(f"--output {str(path)!r}: the folder {str(path.parent)!r} does not exist: create it first")
    return fmt


def write_figure(figure: go.Figure, path: Path) -> None:
    """One figure as PNG, SVG or a self-contained HTML page."""
    fmt = output_format(path)
    if fmt == "html":
        write_atomically(path, html_page(str(figure.layout.title.text or "mtc"), [figure]).encode())
        return
    try:
        image = figure.to_image(format=fmt, width=figure.layout.width or WIDTH, height=figure.layout.height or HEIGHT)
    except Exception as exc:  # kaleido reports a missing browser or a dead renderer with its own exception types
        raise MtcError(
            f"could not draw {path.name} ({type(exc).__name__}: {exc}); PNG and SVG are drawn by kaleido in the "
            "system's headless Chromium (apt-get install chromium); an .html file needs neither"
        ) from None
    write_atomically(path, image)


def html_page(title: str, figures: Sequence[go.Figure], before: str = "", styles: str = "") -> str:
    """A self-contained page: ``before`` (HTML), then the figures, plotly.js inlined once."""
    parts = [
        figure.to_html(full_html=False, include_plotlyjs=index == 0, config={"displaylogo": False})
        for index, figure in enumerate(figures)
    ]
    return (
        "<!DOCTYPE html>\n<html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{styles}</style></head>\n<body>\n"
        f"{before}\n" + "\n".join(f"<div class='figure'>{part}</div>" for part in parts) + "\n</body></html>\n"
    )


def write_atomically(path: Path, content: bytes) -> None:
    """Write ``content`` to ``path`` through a temporary file in the same folder."""
    partial = path.with_name(f".{path.name}.partial")
    try:
        partial.write_bytes(content)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
