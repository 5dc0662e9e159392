"""The docs keep up with the code: every module is on ARCHITECTURE.md's layout map, every MCP tool
in the tool tables of the README and docs/tools.md.

Both lists are read from the source tree each time (files, and the operations table), so a module
or tool added later fails here until the docs name it."""

import re
from pathlib import Path

from ragate.server.ops import TOOLS
from tests.helpers import ROOT

README = ROOT / "README.md"
ARCHITECTURE = ROOT / "ARCHITECTURE.md"
PACKAGES = ("server", "retrieval", "scoring")


def section(doc: Path, heading: str) -> str:
    """The body of one `## heading` section of a doc: up to the next level-2 heading (code fences skipped)."""
    lines = doc.read_text(encoding="utf-8").splitlines()
    start = next((i for i, line in enumerate(lines) if line.strip() == heading), None)
    assert start is not None, f"{doc.name} has no {heading!r} section"
    body, fenced = [], False
    for line in lines[start + 1 :]:
        if line.startswith("```"):
            fenced = not fenced
        if not fenced and re.match(r"##\s", line):
            break
        body.append(line)
    return "\n".join(body)


def modules() -> list[str]:
    found = [
        p.relative_to(ROOT).as_posix()
        for package in PACKAGES
        for p in (ROOT / package).rglob("*.py")
        if p.name != "__init__.py" and "__pycache__" not in p.parts
    ]
    return sorted(found)


def test_layout_names_every_module():
    layout = section(ARCHITECTURE, "## Layout")
    named = set(re.findall(r"(?<![\w/.])((?:server|retrieval|scoring)/[\w/]+\.py)\b", layout))
    found = modules()
    assert found, "no modules found under server/, retrieval/, scoring/"
    missing = [m for m in found if m not in named]
    assert not missing, "ARCHITECTURE.md's '## Layout' section does not name these modules: " + ", ".join(missing)
    stale = sorted(named - set(found))
    assert not stale, "ARCHITECTURE.md's '## Layout' section names modules that do not exist: " + ", ".join(stale)


def tool_table(text: str) -> set[str]:
    """Names in the first column of the README's tool table: the table whose header starts with `tool`."""
    names, in_table = set(), False
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")] if line.lstrip().startswith("|") else None
        if cells is None:
            in_table = False
        elif not in_table and cells[0].lower() == "tool":
            in_table = True
        elif in_table:
            names.update(re.findall(r"`(\w+)", cells[0]))
    return names


def test_tool_tables_name_every_mcp_tool_and_no_other():
    for doc in (README, ROOT / "docs" / "tools.md"):
        table = tool_table(doc.read_text(encoding="utf-8"))
        missing = sorted(set(TOOLS) - table)
        assert not missing, f"{doc.name}'s tool table (header `| tool | ...`) is missing these MCP tools: " + ", ".join(missing)
        stale = sorted(table - set(TOOLS))
        assert not stale, f"{doc.name}'s tool table names tools the operations table (server/ops.py) has not: " + ", ".join(stale)


def test_the_languages_doc_shows_what_each_init_languages_choice_writes():
    import tomllib

    from ragate.server.config_writer import LANGUAGE_PRESETS

    doc = (ROOT / "docs" / "languages.md").read_text(encoding="utf-8")
    for name in LANGUAGE_PRESETS:
        assert f"--languages {name}" in doc, name
    # The config block shown is the multilingual preset as written.
    (block,) = re.findall(
        r"```toml\n(.*?)```", section(ROOT / "docs" / "languages.md", "## Multilingual models: `ragate init --languages`"), re.S
    )
    assert tomllib.loads(block) == LANGUAGE_PRESETS["multilingual"].settings
    assert "ragate init --languages multilingual" in section(README, "## Languages: what the default models read")
