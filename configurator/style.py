"""CSS class names the browser tests rely on, and the stylesheet of the app."""

from __future__ import annotations

import re

import ipywidgets as widgets

STATUS_COLOURS = {
    "draft": "#757575",
    "queued": "#ef6c00",
    "running": "#1565c0",
    "done": "#2e7d32",
    "failed": "#c62828",
    "cancelled": "#5d4037",
}

CSS = """
<style>
.mtc-app .mtc-panel { border: 1px solid #d0d7de; border-radius: 6px; padding: 6px 10px; margin: 4px 0; }
.mtc-app .mtc-panel-title { font-weight: 600; font-size: 1.1em; }
.mtc-app .mtc-stage-row { align-items: center; margin: 0; }
.mtc-app .mtc-stage-row.mtc-selected { background: #e3f2fd; border-radius: 4px; }
.mtc-app .mtc-stage-status { background: transparent; box-shadow: none; padding: 0 4px; }
.mtc-app .mtc-stage-status:hover { text-decoration: underline; }
.mtc-app .mtc-tree-prefix pre { margin: 0; font-family: monospace; color: #888; }
.mtc-app .mtc-field-message { color: #b00020; font-size: 0.9em; }
.mtc-app .mtc-unsaved { color: #ef6c00; font-weight: 600; }
.mtc-app .mtc-readonly-banner { background: #fff8e1; border-radius: 4px; padding: 4px 8px; }
.mtc-app pre.mtc-text { white-space: pre; font-size: 0.85em; max-height: 420px; overflow: auto;
  font-family: monospace; line-height: 1.3; }  /* the CLI's text, aligned as in a terminal */
.mtc-app .mtc-loss-plot > .js-plotly-plot { flex: 1 1 auto; min-width: 0; }  /* the figure takes the panel's width */
</style>
"""


def css_name(text: str) -> str:
    """``text`` as a CSS class fragment: dots and other odd characters become ``-``."""
    return re.sub(r"[^A-Za-z0-9_-]", "-", text)


def field_class(key: str) -> str:
    """The class of a config field's input, e.g. ``mtc-field-training-max_steps``."""
    return f"mtc-field-{css_name(key)}"


def stage_class(name: str) -> str:
    """The class of a stage's row in the tree, e.g. ``mtc-stage-stage1``."""
    return f"mtc-stage-{css_name(name)}"


def stylesheet() -> widgets.HTML:
    """The app's stylesheet as a widget (placed once at the top of the app)."""
    return widgets.HTML(CSS)


def panel(title: str, *children: widgets.Widget, name: str) -> widgets.VBox:
    """A titled, framed section of the app with the class ``mtc-<name>-panel``."""
    box = widgets.VBox([widgets.HTML(f"<div class='mtc-panel-title'>{title}</div>"), *children])
    box.add_class("mtc-panel")
    box.add_class(f"mtc-{name}-panel")
    return box
