"""The key table of ``docs/config.md``, generated from the schema.

Run ``python -m engine.config.docs_table`` and paste the output between the
``<!-- keys:begin -->`` / ``<!-- keys:end -->`` markers; a test checks that the
docs match, so a new schema field cannot go undocumented.
"""

from __future__ import annotations

import json

from engine.config.describe import describe_fields

BEGIN, END = "<!-- keys:begin -->", "<!-- keys:end -->"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _heading(section: str) -> str:
    return section.replace("<NET>", "`<NET>`")


def key_table() -> str:
    """Markdown: one table per UI section, one row per key (and per variant spec)."""
    lines: list[str] = []
    section = None
    for d in describe_fields():
        if d.section != section:
            section = d.section
            lines += ["", f"### {_heading(section)}", "", "| Key | Type | Default | Allowed | Only when | Description |"]
            lines.append("|---|---|---|---|---|---|")
        when = ""
        if d.depends_on:
            when = f"{d.depends_on.key.rsplit('.', 1)[-1]} = {', '.join(d.depends_on.values)}"
        lines.append(
            f"| `{d.key}` | {d.type} | `{json.dumps(d.default)}` | {_cell(d.allowed())} | {when} | {_cell(d.help)} |"
        )
    return "\n".join(lines).strip() + "\n"


if __name__ == "__main__":
    print(key_table(), end="")
