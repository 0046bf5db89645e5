"""A widget that tells the kernel when the browser has drawn it, and how wide it is drawn, so a heavy
plotly figure can be built after the page, at the width of its panel."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anywidget
import ipywidgets as widgets

RENDERED = "rendered"


class RenderBeacon(anywidget.AnyWidget):
    """An empty widget whose front end sends ``{"event": "rendered", "width": W}`` each time a page draws it.

    ``W`` is the width in pixels of the ``.mtc-loss-plot`` box around it (None when it has no
    width yet). plotly sizes a figure when it is first drawn, and a figure drawn before it is
    on the page gets plotly's default 700 px, so the figure is given this width.
    """

    _esm = """
    export default {
      render({ model, el }) {
        requestAnimationFrame(() => {
          const box = el.closest(".mtc-loss-plot");
          const width = box ? Math.floor(box.getBoundingClientRect().width) : 0;
          model.send({ event: "rendered", width: width > 0 ? width : null });
        });
      }
    };
    """

    def __init__(self, on_rendered: Callable[[int | None], None], **kwargs: Any):
        super().__init__(**kwargs)
        self._on_rendered = on_rendered
        self.on_msg(self._received)

    def _received(self, _widget: widgets.Widget, content: Any, _buffers: Any) -> None:
        if isinstance(content, dict) and content.get("event") == RENDERED:
            width = content.get("width")
            self._on_rendered(int(width) if isinstance(width, (int, float)) else None)
