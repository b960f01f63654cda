"""Copy the latest benchmark tables (bench/results/*.md) into the README between markers."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
START, END = "<!-- bench:start -->", "<!-- bench:end -->"


def tables(results: Path) -> str:
    """Every result table, its '# ' title turned into a '### ' heading."""
    parts = []
    for md in sorted(results.glob("*.md")):
        text = md.read_text().strip()
        parts.append(text.replace("# ", "### ", 1) if text.startswith("# ") else text)
    return "\n\n".join(parts)


def update_readme(
    readme: Path = ROOT / "README.md", results: Path = ROOT / "bench" / "results"
) -> None:
    """Replace the text between the bench markers with the current tables."""
    text = readme.read_text()
    head, sep, rest = text.partition(START)
    _, sep2, tail = rest.partition(END)
    if not (sep and sep2):
        raise SystemExit(f"{readme} lacks the {START} … {END} markers")
    readme.write_text(f"{head}{START}\n{tables(results)}\n{END}{tail}")
