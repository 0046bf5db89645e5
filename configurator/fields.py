"""One config setting as a widget: its input (made from the field descriptor) and the message beside it."""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets

from engine.config import FieldDescriptor

from .style import field_class

LABEL_WIDTH = "170px"


def display_text(descriptor: FieldDescriptor, value: Any) -> str:
    """How a value is written in a text input (``set_values`` parses the same text back)."""
    if value is None:
        return ""
    if descriptor.type == "floatlist":
        return ",".join(repr(float(item)) for item in value)
    if isinstance(value, float):
        return repr(value)
    return str(value)


def make_input(descriptor: FieldDescriptor) -> widgets.ValueWidget:
    """A checkbox for a flag, a dropdown for a choice, else a text box validated on Enter or leaving it."""
    tooltip = f"{descriptor.help} Allowed: {descriptor.allowed()}."
    if descriptor.type == "bool" and not descriptor.nullable:
        widget: widgets.ValueWidget = widgets.Checkbox(indent=False, tooltip=tooltip)
    elif descriptor.type == "choice" and not descriptor.nullable:
        widget = widgets.Dropdown(options=list(descriptor.choices or ()), tooltip=tooltip)
    else:
        placeholder = (descriptor.null_label or "null") if descriptor.nullable else ""
        widget = widgets.Text(continuous_update=False, placeholder=placeholder, tooltip=tooltip)
    widget.layout.width = "auto" if isinstance(widget, widgets.Checkbox) else "150px"
    widget.add_class(field_class(descriptor.key))
    return widget


class FieldWidget:
    """The input of one descriptor; every change the user makes is handed to ``on_change``."""

    def __init__(self, descriptor: FieldDescriptor, on_change: Callable[["FieldWidget"], None]):
        self.descriptor = descriptor
        self.input = make_input(descriptor)
        self.message = widgets.HTML()
        self.message.add_class("mtc-field-message")
        self.error = ""
        """The message shown beside the field ('' when its value was accepted)."""
        self._quiet = False
        self.input.observe(lambda _: None if self._quiet else on_change(self), "value")

    @property
    def key(self) -> str:
        """The dotted config key."""
        return self.descriptor.key

    def raw(self) -> Any:
        """The entered value: a bool or a choice as is, text as typed (``set_values`` parses it)."""
        return self.input.value

    def show(self, value: Any) -> None:
        """Display a stored value without reporting it as a change."""
        typed = isinstance(self.input, (widgets.Checkbox, widgets.Dropdown))
        shown = value if typed else display_text(self.descriptor, value)
        self._quiet = True
        try:
            self.input.value = shown
        finally:
            self._quiet = False

    def set_error(self, message: str | None) -> None:
        """Show ``message`` beside the field, or clear it."""
        self.error = message or ""
        self.message.value = html.escape(self.error)

    def labelled(self) -> widgets.HBox:
        """The field on one line: label, input, message."""
        label = widgets.Label(self.descriptor.label, tooltip=self.descriptor.help)
        label.layout.width = LABEL_WIDTH
        return widgets.HBox([label, self.input, self.message])

    def cell(self) -> widgets.VBox:
        """The field as a table cell: input above its message."""
        return widgets.VBox([self.input, self.message])
