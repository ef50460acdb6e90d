"""The README and docs/ stay true: the walk-through runs, the API reference is current, links resolve.

- The README's curl walk-through is run as written (bash -euo pipefail, real curl) against a
  live ``icecash demo`` process; every ``# →`` line it documents must appear in its output.
- ``docs/api/openapi.json`` is exactly what ``icecash till openapi`` prints now, and every path
  in it is in the API guide's endpoint table.
- Every setting declared in ``icecash.till.settings.SPECS`` is in the admin guide.
- Every relative link in README.md and docs/**/*.md points to a file that exists (and, for a
  ``#fragment`` into a Markdown file, to a heading that exists).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote

import pytest

from icecash.till.settings import SPECS

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
DOCS = REPO / "docs"
OPENAPI = DOCS / "api" / "openapi.json"
API_GUIDE = DOCS / "api" / "README.md"
ADMIN_GUIDE = DOCS / "admin" / "admin-guide.md"

BASE_LINE = "BASE=http://127.0.0.1:10110/api/v1"
EXPECTED_MARK = "# → "
REGENERATE = ".venv/bin/icecash till openapi -o docs/api/openapi.json"

FENCE = re.compile(r"^(```|~~~)([^\n]*)\n(.*?)^\1[ \t]*$", re.S | re.M)


def fenced_blocks(text: str) -> list[tuple[str, str]]:
    """(info string, body) of every fenced code block."""
    return [(match.group(2).strip(), match.group(3)) for match in FENCE.finditer(text)]


def walkthrough() -> str:
    blocks = [body for info, body in fenced_blocks(README.read_text(encoding="utf-8"))
              if info == "bash" and body.startswith("BASE=")]
    assert len(blocks) == 1, f"README.md must hold exactly one ```bash block starting with BASE=, found {len(blocks)}"
    block = blocks[0]
    assert block.splitlines()[0] == BASE_LINE, f"the walk-through must start with the line {BASE_LINE!r}"
    return block


# --- (a) the README's walk-through, run for real ---------------------------------------------------


def test_walkthrough_documents_the_key_totals():
    expected = [line.strip()[len(EXPECTED_MARK):] for line in walkthrough().splitlines()
                if line.strip().startswith(EXPECTED_MARK)]
    assert expected, "the walk-through documents no expected output (# → lines)"
    text = "\n".join(expected)
    for value in ("total=89.90", "total=239.77", "change=260.23", "revenue=239.77"):
        assert value in text, f"the walk-through no longer documents {value}"


@pytest.mark.slow
def test_readme_walkthrough_runs_against_a_live_till(live_till, tmp_path):
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed: the README walk-through needs it")
    block = walkthrough()
    script = tmp_path / "walkthrough.sh"
    script.write_text(block.replace(BASE_LINE, f"BASE={live_till.url}/api/v1", 1), encoding="utf-8")
    # python3 in the block: make sure one exists, the one running the tests.
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
           "PYTHONIOENCODING": "utf-8", "LC_ALL": "C.UTF-8"}
    run = subprocess.run(["bash", "-euo", "pipefail", str(script)], capture_output=True, text=True,
                         encoding="utf-8", env=env, timeout=120)
    assert run.returncode == 0, f"the README walk-through failed ({run.returncode}):\n{run.stdout}\n{run.stderr}"

    printed = [line.rstrip() for line in run.stdout.splitlines()]
    expected = [line.strip()[len(EXPECTED_MARK):] for line in block.splitlines() if line.strip().startswith(EXPECTED_MARK)]
    position = 0
    for want in expected:
        assert want in printed[position:], (
            f"README promises the line {want!r}, but the walk-through printed (from here on):\n"
            + "\n".join(printed[position:])
        )
        position = printed.index(want, position) + 1
    for total in ("total=239.77", "change=260.23", "revenue=239.77"):
        assert any(total in line for line in printed), f"{total} missing from:\n{run.stdout}"


# --- (b) the API reference ---------------------------------------------------------------------------


def test_openapi_json_is_current():
    generated = subprocess.run(
        [sys.executable, "-m", "icecash.cli", "till", "openapi"], capture_output=True, text=True, encoding="utf-8",
        cwd=REPO, timeout=120, check=True,
    ).stdout
    assert OPENAPI.exists(), f"docs/api/openapi.json is missing: run `{REGENERATE}`"
    stored = OPENAPI.read_text(encoding="utf-8")
    assert json.loads(stored) == json.loads(generated), (
        f"docs/api/openapi.json is stale (the API changed): run `{REGENERATE}`, "
        "then update the endpoint table in docs/api/README.md"
    )
    assert stored == generated, f"docs/api/openapi.json is not formatted as generated: run `{REGENERATE}`"


def test_every_endpoint_is_in_the_api_guide():
    document = json.loads(OPENAPI.read_text(encoding="utf-8"))
    guide = API_GUIDE.read_text(encoding="utf-8")
    missing = [
        f"{method.upper()} {path}"
        for path, operations in document["paths"].items()
        for method in operations
        if not re.search(rf"`{method.upper()}`\s*\|\s*`{re.escape(path)}`", guide)
    ]
    assert not missing, f"docs/api/README.md lacks a table row (| `METHOD` | `path` |) for: {missing}"


# --- the admin guide lists every setting -------------------------------------------------------------


def test_every_setting_is_in_the_admin_guide():
    guide = ADMIN_GUIDE.read_text(encoding="utf-8")
    missing = [spec.name for spec in SPECS if f"`{spec.name}`" not in guide]
    assert not missing, f"docs/admin/admin-guide.md does not describe these settings: {missing}"
    defaults = [spec.name for spec in SPECS
                if not re.search(rf"^\|\s*`{spec.name}`\s*\|[^\n]*\|\s*{_default_cell(spec.default)}\s*\|", guide, re.M)]
    assert not defaults, f"docs/admin/admin-guide.md gives a wrong or no default for: {defaults}"


def _default_cell(default: str) -> str:
    """How a default is written in the table: `value`, or — for an empty one."""
    return "—" if default == "" else re.escape(f"`{default}`")


# --- (c) links -----------------------------------------------------------------------------------------


LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.M)


def markdown_files() -> list[Path]:
    return [README, *sorted(DOCS.rglob("*.md"))]


def _prose(text: str) -> str:
    """The text without fenced code blocks and inline code, where brackets are not links."""
    text = FENCE.sub("", text)
    return re.sub(r"`[^`\n]*`", "", text)


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    heading = re.sub(r"`|\*\*|__|\[([^\]]*)\]\([^)]*\)", r"\1", heading).strip().lower()
    heading = re.sub(r"[^\w\- ]", "", heading)
    return heading.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    out: set[str] = set()
    for heading in HEADING.findall(FENCE.sub("", path.read_text(encoding="utf-8"))):
        slug = _slug(heading)
        count = seen.get(slug, 0)
        out.add(slug if count == 0 else f"{slug}-{count}")
        seen[slug] = count + 1
    return out


@pytest.mark.parametrize("page", markdown_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_relative_links_resolve(page: Path):
    broken = []
    for target in LINK.findall(_prose(page.read_text(encoding="utf-8"))):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I):  # http:, https:, mailto:
            continue
        file_part, _, fragment = target.partition("#")
        resolved = (page.parent / unquote(file_part)).resolve() if file_part else page
        if not resolved.exists():
            broken.append(f"{target} (no file {resolved.relative_to(REPO) if resolved.is_relative_to(REPO) else resolved})")
        elif fragment and resolved.suffix == ".md" and unquote(fragment).lower() not in anchors(resolved):
            broken.append(f"{target} (no heading #{fragment} in {resolved.relative_to(REPO)})")
    assert not broken, f"{page.relative_to(REPO)} has broken links: {broken}"
