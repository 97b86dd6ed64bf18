"""A newcomer starts at the README: every docs page is linked from it, and every link it has lands on a
file and heading that exist. (Links between the pages are checked by `make docs-build`: mkdocs --strict.)"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
LINK = re.compile(r"\]\(([^)\s]+)\)")


def relative_links(text: str) -> list[str]:
    return [target for target in LINK.findall(text) if not re.match(r"[a-z]+:", target)]


def anchors(page: Path) -> set[str]:
    """The ids mkdocs gives the page's headings (Python-Markdown's toc slugify, on the heading's text)."""
    found = set()
    in_code = False
    for line in page.read_text().splitlines():
        if line.startswith("```"):
            in_code = not in_code
        heading = re.match(r"#+ (.*)", line)
        if heading and not in_code:
            text = unicodedata.normalize("NFKD", heading.group(1).replace("`", "")).encode("ascii", "ignore").decode()
            found.add(re.sub(r"[-\s]+", "-", re.sub(r"[^\w\s-]", "", text).strip().lower()))
    return found


def test_every_docs_page_is_linked_from_the_readme():
    linked = {(README.parent / target.partition("#")[0]).resolve() for target in relative_links(README.read_text())}
    pages = set((ROOT / "docs").glob("*.md")) - {ROOT / "docs" / "index.md"}  # index.md: the site's home
    assert sorted(str(page.relative_to(ROOT)) for page in pages - linked) == []


def test_every_readme_link_lands_on_a_file_and_heading_that_exist():
    broken = []
    for target in relative_links(README.read_text()):
        path, _, anchor = target.partition("#")
        file = (README.parent / path).resolve() if path else README
        if not file.exists() or (anchor and anchor not in anchors(file)):
            broken.append(target)
    assert broken == []


def test_the_architecture_page_names_every_package_and_module_there_is():
    """The layout a newcomer reads matches `git ls-files function/`: a module added or moved shows up here."""
    layout = (ROOT / "docs" / "architecture.md").read_text().split("## Layout", 1)[1].split("\n## ", 1)[0]
    missing = []
    for path in sorted((ROOT / "function").rglob("*.py")):
        relative = path.relative_to(ROOT / "function")
        if path.name == "__init__.py":
            if len(relative.parts) > 1 and f"{relative.parts[0]}/" not in layout:
                missing.append(f"{relative.parts[0]}/")
        elif not re.search(rf"\b{re.escape(path.stem)}\b", layout):
            missing.append(str(relative))
    assert missing == []
