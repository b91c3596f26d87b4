"""No text built from strings reaches a place where Textual or Rich parses markup.

A `str` given to a border title, a column label, a table row, a Static, a Label, an option or a
notification is parsed as markup: a flag key `x[/]` raises (the app dies) and `[b]x[/]` loses
its brackets. Such places take `Text` (ui/view/format.py `plain` for server text), or
`markup=False` for a notification. This reads the sources of ui/ and names every such place
that is given a string built there (an f-string, a concatenation, `safe_text(...)`, `str(...)`)
or a literal holding a `[`; a name or an attribute passed on is not checked here (the Pilot
tests show those screens)."""

from __future__ import annotations

import ast
from pathlib import Path

import togul_monitor

UI = Path(togul_monitor.__file__).parent / "ui"

TITLE_ATTRIBUTES = {"border_title", "border_subtitle", "title", "sub_title", "tooltip"}
# Calls whose first argument (or every positional one, for rows) is shown as markup.
FIRST_ARGUMENT = {"add_column", "Static", "Label", "Option", "Checkbox", "Button", "Tab", "update"}
EVERY_ARGUMENT = {"add_row"}
LABEL_KEYWORDS = {"label", "prompt", "title", "description", "tooltip"}
STRING_MAKERS = {"safe_text", "str", "format", "join", "repr"}


def built_string(node: ast.expr) -> bool:
    """`node` is a str made on the spot, or a literal that markup would read."""
    if isinstance(node, ast.JoinedStr | ast.BinOp):
        return True
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return "[" in node.value
    if isinstance(node, ast.IfExp):
        return built_string(node.body) or built_string(node.orelse)
    if isinstance(node, ast.Call):
        func = node.func
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
        return name in STRING_MAKERS
    return False


def call_name(node: ast.Call) -> str:
    func = node.func
    return func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")


def problems_in(tree: ast.AST) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Attribute) and target.attr in TITLE_ATTRIBUTES:
                    if built_string(node.value):
                        found.append((node.lineno, f"{target.attr} = a str"))
        if not isinstance(node, ast.Call):
            continue
        name = call_name(node)
        if name in {"from_markup", "render_markup"}:
            found.append((node.lineno, f"{name}(...)"))
        if name == "notify":
            markup = {k.arg: k.value for k in node.keywords}.get("markup")
            if not (isinstance(markup, ast.Constant) and markup.value is False):
                found.append((node.lineno, "notify(...) without markup=False"))
            continue
        if name in FIRST_ARGUMENT:
            shown = node.args[:1]
        elif name in EVERY_ARGUMENT:
            shown = [a for a in node.args if not isinstance(a, ast.Starred)]
        elif name != "Binding":
            continue
        else:
            shown = []
        shown += [k.value for k in node.keywords if k.arg in LABEL_KEYWORDS]
        if any(built_string(argument) for argument in shown):
            found.append((node.lineno, f"{name}(...) given a str"))
    return sorted(found)


def test_no_built_string_reaches_a_markup_parser_in_the_ui() -> None:
    found = [
        f"{path.relative_to(UI.parent)}:{line}: {what}"
        for path in sorted(UI.rglob("*.py"))
        for line, what in problems_in(ast.parse(path.read_text(encoding="utf-8")))
    ]
    assert not found, "\n".join(found)


def test_the_check_finds_what_crashed_the_screens() -> None:
    source = """
box.border_title = f"coverage · {safe_text(key)}"
table.add_column(safe_text(env), width=each)
scroll.border_subtitle = "ids remap keys in profiles.toml [keymap]"
self.notify(f"watching {key}")
box.border_title = plain(f"coverage · {key}")
table.add_column(plain(env), width=each)
self.notify(f"watching {key}", markup=False)
table.add_row(Text(cell), key=key)
"""
    assert [line for line, _ in problems_in(ast.parse(source))] == [2, 3, 4, 5]
