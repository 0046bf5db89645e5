"""The Configure panel: a stage's name, description and every setting, generated from the config schema.

Save model: one SAVE button. Each edit is validated as it is made (``set_values`` on the stage's
working copy): a valid value joins the stage's unsaved edits, an invalid one shows a message
beside its field and joins nothing. A marker says when there are unsaved edits; SAVE writes
them all (``StageBook.edit``, then ``rename``) or, while a field is invalid, nothing. REVERT
drops them. Unsaved edits are kept per stage while other stages are selected. A stage that is
not a draft is shown read-only with buttons to copy its settings into a new stage.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ipywidgets as widgets

from engine.config import (
    ConfigError,
    FieldDescriptor,
    ProblemOutline,
    describe_fields,
    flatten,
    get_value,
    set_values,
    validate_config,
)
from engine.config.introspect import collections
from engine.errors import MtcError, ProblemError
from engine.kinds import correction_brief, describe_correction
from engine.problem.loader import PROBLEM_FILE
from engine.stages import StageBook, problem_hash
from engine.stages.branch_warnings import frozen_branch_warning
from engine.store import StageRecord, UnknownStageError, validate_stage_name

from .dialogs import Action, Guard, button
from .fields import LABEL_WIDTH, FieldWidget

COLUMN_WIDTH = "170px"


@dataclass
class Draft:
    """Unsaved edits of one draft stage: the stored settings they started from and the edited ones."""

    stage: str
    base: dict[str, Any]
    working: dict[str, Any]
    base_description: str
    name: str
    description: str

    def changes(self) -> dict[str, Any]:
        """The dotted keys whose edited value differs from the stored one."""
        before = flatten(self.base)
        return {key: value for key, value in flatten(self.working).items() if before.get(key, ...) != value}

    def dirty(self) -> bool:
        """Whether saving would change anything."""
        return bool(self.changes()) or self.name != self.stage or self.description != self.base_description


STATE_WORDS = {"done": "has finished training", "failed": "failed", "cancelled": "was cancelled"}
"""How the read-only banner says a stage's status (``stage4 was cancelled``); others read ``is queued``."""


class ConfigForm:
    """Shows one stage's settings and edits draft stages (see the module docstring for the save model)."""

    def __init__(
        self,
        book: StageBook,
        guard: Guard,
        reselect: Callable[[str], None],
        copy_to_branch: Action,
        copy_to_child: Action,
        init_conf: Action,
    ):
        self.book = book
        self.guard = guard
        self._quiet_header = False
        self._notice_text = ""
        self.reselect = reselect
        self._init_conf = init_conf
        self._drafts: dict[str, Draft] = {}
        self._invalid: set[str] = set()
        self._fields: dict[FieldDescriptor, FieldWidget] = {}
        self._descriptors: list[FieldDescriptor] = []
        self._outline: ProblemOutline | None = None
        self._section_boxes: dict[str, widgets.VBox] = {}
        self._section_fields: dict[str, list[FieldDescriptor]] = {}
        self._shown: tuple[Any, ...] | None = None
        self._record: StageRecord | None = None
        self._stored: dict[str, Any] = {}
        self.readonly = True

        self.name_input = self._text("Stage name", "mtc-field-name", self._name_edited)
        self.description_input = self._text("Description", "mtc-field-description", self._description_edited)
        self.name_message = widgets.HTML()
        self.name_message.add_class("mtc-field-message")
        self.marker = widgets.HTML()
        self.save_button = button("SAVE", guard.wrap(self.save), "write the unsaved edits of this stage", "primary")
        self.revert_button = button("REVERT", guard.wrap(self.revert), "drop the unsaved edits of this stage")
        self.banner_text = widgets.HTML()
        self.banner = widgets.HBox(
            [
                self.banner_text,
                button("COPY AS NEW BRANCH", guard.wrap(copy_to_branch), "a new training branch with these settings"),
                button("COPY AS CHILD", guard.wrap(copy_to_child), "a child stage continuing from this one"),
            ]
        )
        self.banner.add_class("mtc-readonly-banner")
        self.kind_text = widgets.HTML()
        self.kind_text.add_class("mtc-stage-kind")
        self.notice = widgets.VBox()
        self.notice.add_class("mtc-config-notice")
        self.sections = widgets.Accordion()
        self.sections.add_class("mtc-config-sections")
        self.widget = widgets.VBox(
            [
                widgets.HBox([self.name_input, self.name_message]),
                self.description_input,
                widgets.HBox([self.save_button, self.revert_button, self.marker]),
                self.kind_text,
                self.banner,
                self.notice,
                self.sections,
            ]
        )
        for hidden in (self.banner, self.notice, self.kind_text):
            self._set_display(hidden, False)

    # -- what tests and the app read -------------------------------------------------

    def field(self, key: str) -> FieldWidget:
        """The widget of the setting ``key`` as currently shown (the active variant's)."""
        for descriptors in self._section_fields.values():
            for descriptor in descriptors:
                if descriptor.key == key:
                    return self._fields[descriptor]
        raise KeyError(f"no field {key!r} is shown")

    def unsaved_stages(self) -> set[str]:
        """Stages with unsaved edits."""
        return {name for name, draft in self._drafts.items() if draft.dirty()}

    def forget_deleted(self, existing: set[str]) -> None:
        """Drop the unsaved edits of stages that no longer exist (a new stage may reuse the name)."""
        for name in [name for name in self._drafts if name not in existing]:
            del self._drafts[name]

    def pending(self) -> bool:
        """Whether the shown stage has unsaved edits or a value that is not valid."""
        draft = self._drafts.get(self._record.name) if self._record else None
        return bool(self._invalid) or (draft is not None and draft.dirty())

    @property
    def notice_text(self) -> str:
        """The text of the notice shown instead of the settings ('' when there is none)."""
        return self._notice_text if self.notice.layout.display != "none" else ""

    # -- showing a stage ---------------------------------------------------------------

    def show(self, record: StageRecord) -> None:
        """Display ``record`` (its unsaved edits, if any); does nothing when nothing changed since last time."""
        path = Path(self.book.project_dir) / PROBLEM_FILE
        digest = problem_hash(self.book.project_dir) if path.is_file() else ""
        key = (record.name, record.status, record.config, record.description, record.correction, digest)
        if key == self._shown:
            return
        if self._record is None or self._record.name != record.name:
            self._invalid.clear()
            self.name_message.value = ""
        self._shown, self._record = key, record
        try:
            outline, _ = self.book.problem()
        except ProblemError as exc:
            self._show_notice(f"problem.py does not load, so settings cannot be shown or edited:\n{exc}")
            return
        if outline != self._outline:
            self._outline, self._descriptors = outline, describe_fields(outline)
        try:
            self._stored = validate_config(record.config, outline)
        except ConfigError as exc:
            self._show_notice(
                f"the settings of {record.name} do not fit the current problem.py: {exc}\n"
                "INIT-CONF merges every stage with problem.py (new networks and constraints get defaults).",
                with_init_conf=True,
            )
            return
        self.readonly = record.status != "draft"
        if self.readonly:
            self._drafts.pop(record.name, None)
            self._invalid.clear()
        self._set_display(self.notice, False)
        self._set_display(self.sections, True)
        draft = self._drafts.get(record.name)
        self._render(draft.working if draft else self._stored)
        self._show_header(record, draft)

    def show_empty(self) -> None:
        """There is no stage to show (every stage was deleted)."""
        self._record, self._shown = None, None
        self._show_notice("No stages: NEW TRAINING BRANCH creates one with the default settings.", reload=False)

    def _show_header(self, record: StageRecord, draft: Draft | None) -> None:
        self._quietly(self.name_input, draft.name if draft else record.name)
        self._quietly(self.description_input, draft.description if draft else record.description)
        for widget in (self.name_input, self.description_input, self.save_button, self.revert_button):
            widget.disabled = self.readonly
        state = STATE_WORDS.get(record.status, f"is {record.status}")
        self.banner_text.value = (
            f"<b>{html.escape(record.name)}</b> {state}: its settings are read-only. Copy them to edit:"
        )
        self._set_display(self.banner, self.readonly)
        self._show_kind(record)
        self._update_marker()

    def _show_kind(self, record: StageRecord) -> None:
        """For a correction stage: what it adds to its parent, and the eps and f_d it chose; for a
        training branch with a frozen network: that it would stay random."""
        warning = frozen_branch_warning(record.name, record.parent, record.config)
        self._set_display(self.kind_text, record.kind == "correction" or warning is not None)
        if warning is not None:
            self.kind_text.value = f"<span class='mtc-frozen-branch' style='color:#ef6c00'>⚠ {html.escape(warning)}</span>"
        if record.kind != "correction":
            return
        lines = describe_correction(record.correction) if record.correction else [correction_brief(None)]
        self.kind_text.value = (
            f"<b>Correction stage</b> of {html.escape(str(record.parent))}: u = u_parent (frozen) + eps * u_corr "
            "per network output (Fourier features at sigma = 2 pi f_d); its nets settings shape the corrections."
            "<ul>" + "".join(f"<li>{html.escape(line)}</li>" for line in lines) + "</ul>"
        )

    def _render(self, config: dict[str, Any]) -> None:
        """Lay out the fields active for ``config`` (rebuilding only sections whose fields changed) and show values."""
        active = [d for d in self._descriptors if d.active(config)]
        grouped: dict[str, list[FieldDescriptor]] = {}
        for descriptor in active:
            grouped.setdefault(descriptor.section, []).append(descriptor)
        if list(grouped) != list(self._section_boxes):
            self._section_boxes = {title: widgets.VBox() for title in grouped}
            self._section_fields = {}
            self.sections.children = tuple(self._section_boxes.values())
            self.sections.titles = tuple(grouped)
            self.sections.selected_index = 0
        for title, descriptors in grouped.items():
            if self._section_fields.get(title) != descriptors:
                self._section_boxes[title].children = self._layout(descriptors)
                self._section_fields[title] = descriptors
        for descriptor in active:
            field = self._field(descriptor)
            field.input.disabled = self.readonly
            if descriptor.key not in self._invalid:
                field.show(get_value(config, descriptor.key))
                field.set_error(None)

    def _layout(self, descriptors: list[FieldDescriptor]) -> list[widgets.Widget]:
        """One labelled line per field, or a table with one row per network/constraint/data entry
        (unless the section is about one entry, named in its title like ``[metalNN] NN Architecture``)."""
        owners = list(dict.fromkeys(d.key.rsplit(".", 1)[0] for d in descriptors))
        entry = owners[0].partition(".")[2]
        one_form = owners[0].partition(".")[0] not in collections()  # not per entry: training and training.rad together
        if one_form or (len(owners) == 1 and f"[{entry}]" in descriptors[0].section):
            return [self._field(d).labelled() for d in descriptors]
        columns = {d.key.rsplit(".", 1)[1]: d.label for d in descriptors}
        titles = [_label(f"<b>{text}</b>", COLUMN_WIDTH) for text in columns.values()]
        rows: list[widgets.Widget] = [widgets.HBox([_label("", LABEL_WIDTH), *titles])]
        for owner in owners:
            mine = [d for d in descriptors if d.key.rsplit(".", 1)[0] == owner]
            cells = {d.key.rsplit(".", 1)[1]: self._field(d).cell() for d in mine}
            row = [_label(html.escape(owner.split(".", 1)[-1]), LABEL_WIDTH)]
            for column in columns:
                cell = cells.get(column, widgets.HTML())
                cell.layout.width = COLUMN_WIDTH
                row.append(cell)
            rows.append(widgets.HBox(row))
        return rows

    def _field(self, descriptor: FieldDescriptor) -> FieldWidget:
        if descriptor not in self._fields:
            self._fields[descriptor] = FieldWidget(descriptor, lambda field: self.guard(lambda: self._edited(field)))
        return self._fields[descriptor]

    def _show_notice(self, text: str, with_init_conf: bool = False, reload: bool = True) -> None:
        self._notice_text = text
        buttons = [button("RELOAD", self.guard.wrap(self._reload), "read problem.py and the stage again")]
        buttons = buttons if reload else []
        if with_init_conf:
            buttons.append(button("INIT-CONF", self.guard.wrap(self._init_conf), "merge every stage with problem.py"))
        message = widgets.HTML(f"<pre class='mtc-text' style='color:#b00020'>{html.escape(text)}</pre>")
        self.notice.children = (message, widgets.HBox(buttons))
        self._set_display(self.notice, True)
        for hidden in (self.sections, self.banner, self.kind_text):
            self._set_display(hidden, False)
        self.readonly = True
        for widget in (self.name_input, self.description_input, self.save_button, self.revert_button):
            widget.disabled = True
        self.marker.value = ""

    # -- editing -------------------------------------------------------------------------

    def _draft(self) -> Draft:
        record = self._require_editable()
        if record.name not in self._drafts:
            name, description = record.name, record.description
            self._drafts[name] = Draft(name, self._stored, self._stored, description, name, description)
        return self._drafts[record.name]

    def _edited(self, field: FieldWidget) -> None:
        draft = self._draft()
        assert self._outline is not None
        try:
            draft.working = set_values(draft.working, {field.key: field.raw()}, self._outline)
        except ConfigError as exc:
            field.set_error(str(exc))
            self._invalid.add(field.key)
        else:
            self._invalid.discard(field.key)
            self._render(draft.working)
        self._update_marker()

    def _name_edited(self) -> None:
        draft = self._draft()
        name = self.name_input.value.strip()
        try:
            validate_stage_name(name)
            if name != draft.stage and self._exists(name):
                raise MtcError(f"a stage named {name!r} already exists: choose another name")
        except MtcError as exc:
            self.name_message.value = html.escape(str(exc))
            self._invalid.add("name")
        else:
            self.name_message.value = ""
            self._invalid.discard("name")
            draft.name = name
        self._update_marker()

    def _description_edited(self) -> None:
        self._draft().description = self.description_input.value
        self._update_marker()

    def _exists(self, name: str) -> bool:
        try:
            self.book.stage(name)
        except UnknownStageError:
            return False
        return True

    def _update_marker(self) -> None:
        draft = self._drafts.get(self._record.name) if self._record else None
        parts = []
        if draft is not None and draft.dirty():
            parts.append("● unsaved changes")
        if self._invalid:
            parts.append("a value is not valid (not kept): see the message beside it")
        text = " · ".join(parts) if parts else ("" if self.readonly else "all changes saved")
        self.marker.value = f"<span class='mtc-unsaved'>{html.escape(text)}</span>" if parts else html.escape(text)

    # -- saving --------------------------------------------------------------------------

    def commit(self) -> str:
        """Save the shown stage's unsaved edits (all or none); returns its name (new, if renamed)."""
        record = self._require_editable()
        if self._invalid:
            bad = ", ".join(sorted(self._invalid))
            raise MtcError(
                f"{record.name} not saved: {bad} has a value that is not valid (see the message beside it); "
                "fix it or REVERT"
            )
        draft = self._drafts.get(record.name)
        if draft is None or not draft.dirty():
            return record.name
        changes = draft.changes()
        description = draft.description if draft.description != draft.base_description else None
        if changes or description is not None:
            self.book.edit(record.name, changes, description=description)
        if draft.name != record.name:
            self.book.rename(record.name, draft.name)
        del self._drafts[record.name]
        self._shown = None
        return draft.name

    def save(self) -> str:
        """SAVE: write the unsaved edits."""
        dirty = self._record is not None and self._record.name in self.unsaved_stages()
        name = self.commit()
        self.reselect(name)
        return f"saved {name}" if dirty else f"{name}: nothing to save"

    def revert(self) -> str:
        """REVERT: drop the unsaved edits of the shown stage."""
        record = self._require_editable()
        self._drafts.pop(record.name, None)
        self._invalid.clear()
        self.name_message.value = ""
        self._shown = None
        self.reselect(record.name)
        return f"{record.name}: unsaved changes dropped"

    def _reload(self) -> None:
        if self._record is not None:
            self._shown = None
            self.reselect(self._record.name)

    def _require_editable(self) -> StageRecord:
        if self._record is None or self.readonly:
            name = self._record.name if self._record else "this stage"
            raise MtcError(f"{name} is read-only: COPY AS NEW BRANCH or COPY AS CHILD to change its settings")
        return self._record

    # -- small helpers -------------------------------------------------------------------

    def _text(self, label: str, css: str, on_edit: Callable[[], None]) -> widgets.Text:
        widget = widgets.Text(description=label, continuous_update=False, style={"description_width": LABEL_WIDTH})
        widget.layout.width = "480px"
        widget.add_class(css)
        widget.observe(lambda _: None if self._quiet_header else self.guard(on_edit), "value")
        return widget

    def _quietly(self, widget: widgets.Text, value: str) -> None:
        self._quiet_header = True
        try:
            widget.value = value
        finally:
            self._quiet_header = False

    @staticmethod
    def _set_display(widget: widgets.Widget, visible: bool) -> None:
        widget.layout.display = None if visible else "none"


def _label(text: str, width: str) -> widgets.HTML:
    label = widgets.HTML(text)
    label.layout.width = width
    return label
