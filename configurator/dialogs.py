"""What the app tells the user: a message line, a closable text pop-up, confirmations, and the
guard that runs every UI action one at a time and turns its errors into messages."""

from __future__ import annotations

import html
import logging
import threading
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets

from engine.errors import MtcError

from .style import STATUS_COLOURS

log = logging.getLogger("mtc.configurator")

KIND_COLOURS = {"info": "#333333", "success": STATUS_COLOURS["done"], "error": STATUS_COLOURS["failed"]}

Action = Callable[[], "str | None"]


def button(description: str, on_click: Callable[[], Any], tooltip: str = "", style: str = "") -> widgets.Button:
    """A button with MTC's words whose click runs ``on_click`` (already guarded by the caller)."""
    widget = widgets.Button(description=description, tooltip=tooltip, button_style=style)
    widget.layout.width = "auto"
    widget.on_click(lambda _: on_click())
    return widget


class MessageBar:
    """One line saying what the last action did: info, success or error (never a traceback)."""

    def __init__(self) -> None:
        self.widget = widgets.HTML()
        self.widget.add_class("mtc-message")
        self.text = ""
        self.kind = "info"

    def show(self, text: str, kind: str = "info") -> None:
        """Show ``text``; ``kind`` is info, success or error."""
        self.text, self.kind = text, kind
        colour = KIND_COLOURS[kind]
        self.widget.value = f"<div class='mtc-msg-{kind}' style='color:{colour}'>{html.escape(text)}</div>"

    def clear(self) -> None:
        """Remove the message."""
        self.text, self.kind = "", "info"
        self.widget.value = ""


class Guard:
    """Runs UI actions one at a time (its lock is shared with the poller) and reports their outcome.

    An action returns a success message (or None); an ``MtcError`` shows its message as an
    error; anything else is logged and shown as an unexpected error, so the app stays usable.
    """

    def __init__(self, messages: MessageBar) -> None:
        self.messages = messages
        self.lock = threading.RLock()

    def __call__(self, action: Action) -> None:
        with self.lock:
            try:
                result = action()
            except MtcError as exc:
                self.messages.show(str(exc), "error")
            except Exception as exc:  # the app must survive any bug in one action
                log.exception("configurator action failed")
                self.messages.show(f"unexpected error: {type(exc).__name__}: {exc}", "error")
            else:
                if result:
                    self.messages.show(result, "success")
                elif self.messages.kind == "error":  # an old error does not outlive the next action
                    self.messages.clear()

    def wrap(self, action: Action) -> Callable[..., None]:
        """``action`` as a widget callback (ignores the event argument)."""
        return lambda *_: self(action)


class Popup:
    """A closable box under the header: the TRAINING and PROBLEM summaries, and confirmations."""

    def __init__(self, guard: Guard) -> None:
        self.guard = guard
        self.widget = widgets.VBox()
        self.widget.add_class("mtc-popup")
        self.title = ""
        self.close()

    def show_text(self, title: str, text: str, error: bool = False) -> None:
        """Show ``text`` as a preformatted block under ``title`` with a CLOSE button."""
        colour = KIND_COLOURS["error" if error else "info"]
        block = widgets.HTML(f"<pre class='mtc-text' style='color:{colour}'>{html.escape(text)}</pre>")
        self._open(title, [block], [button("CLOSE", self.close)])

    def confirm(self, question: str, on_yes: Action, declined: str = "cancelled: nothing was changed") -> None:
        """Ask ``question``; YES runs ``on_yes`` (guarded), NO closes the question and says ``declined``."""

        def yes() -> None:
            self.close()
            self.guard(on_yes)

        def no() -> None:
            self.close()
            self.guard.messages.show(declined)

        self._open(question, [], [button("YES", yes, style="danger"), button("NO", no)])

    def close(self) -> None:
        """Hide the pop-up."""
        self.title = ""
        self.widget.children = ()
        self.widget.layout.display = "none"

    def _open(self, title: str, body: list[widgets.Widget], buttons: list[widgets.Button]) -> None:
        self.title = title
        heading = widgets.HTML(f"<b>{html.escape(title)}</b>")
        self.widget.children = (heading, *body, widgets.HBox(buttons))
        self.widget.layout.display = "flex"
