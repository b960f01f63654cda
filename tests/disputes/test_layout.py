"""The layers of ``disputes`` import one way and no module imports itself back through others.

Every ``import`` and ``from ... import`` of every module is read with ``ast`` (also those inside
functions, the lazy ones), resolved to the module it loads (``from disputes.x import y`` is the
module ``disputes.x.y`` when that file exists, else ``disputes.x``), and the package
``__init__`` files a dotted import runs on the way are counted as imports too.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "disputes"

# layer -> the layers its modules may import (besides their own); the top-level modules
# ``errors`` and ``clib`` are their own layers and import none.
ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "clib": set(),
    "program": {"errors"},
    "lowering": {"program", "errors"},
    "commitments": {"program", "errors", "clib"},
    "execution": {"program", "lowering", "commitments", "errors", "clib"},
    "tracing": {"program", "lowering", "execution", "commitments", "errors"},
    "osp": {"program", "execution", "tracing", "commitments", "errors"},
    "game": {"program", "execution", "tracing", "commitments", "osp", "errors"},
}


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def _imports(path: Path, name: str, modules: dict[str, Path]) -> set[str]:
    """The ``disputes`` modules that importing ``name`` loads directly."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                targets.add(sub if sub in modules else base)
    loaded: set[str] = set()
    for target in targets:
        parts = target.split(".")
        for k in range(1, len(parts) + 1):  # each package __init__ on the way runs too
            loaded.add(".".join(parts[:k]))
    ancestors = {".".join(name.split(".")[:k]) for k in range(1, name.count(".") + 1)}
    return {m for m in loaded if m in modules and m != name and m not in ancestors}


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(path, name, modules) for name, path in modules.items()}


def _layer(name: str) -> str | None:
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else None  # None: the package's own __init__


def test_every_module_is_in_a_layer() -> None:
    unknown = {n for n in _graph() if _layer(n) is not None and _layer(n) not in ALLOWED}
    assert not unknown, f"modules outside the known layers: {sorted(unknown)}"


def test_imports_flow_down_the_layers() -> None:
    wrong = []
    for name, deps in _graph().items():
        layer = _layer(name)
        if layer is None:
            continue
        for dep in deps:
            other = _layer(dep)
            if other != layer and (other is None or other not in ALLOWED[layer]):
                wrong.append(f"{name} imports {dep}")
    assert not wrong, "imports against the layer order:\n" + "\n".join(sorted(wrong))


def test_no_import_cycles() -> None:
    graph = _graph()
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    cycles: list[list[str]] = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for dep in sorted(graph[node]):
            if state.get(dep) == 1:
                cycles.append([*path[path.index(dep) :], dep])
            elif dep not in state:
                visit(dep, [*path, dep])
        state[node] = 2

    for start in sorted(graph):
        if start not in state:
            visit(start, [start])
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_the_checker_sees_lazy_imports_and_cycles(tmp_path: Path) -> None:
    """The walk finds an import inside a function body (how the old native_build cycle hid)."""
    a = tmp_path / "a.py"
    a.write_text("def f():\n    from disputes.commitments import keccak_native\n")
    modules = {"disputes.commitments.keccak_native": a, "disputes.commitments": a}
    assert _imports(a, "disputes.clib", modules) == {
        "disputes.commitments",
        "disputes.commitments.keccak_native",
    }
