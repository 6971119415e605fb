"""Rules of the code's shape that a reader relies on (docs/design.md): one owner of the feature
folder's paths, no import cycle between the package's modules, a thin CLI."""

import ast
import graphlib
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "vawgan_tts"
CLI = Path(__file__).resolve().parents[1] / "cli"


def _sources():
    for root, prefix in ((PACKAGE, "vawgan_tts"), (CLI, "vawgan_tts.cli")):
        for path in sorted(root.rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            name = ".".join((prefix, *parts))
            yield (name[: -len(".__init__")] if name.endswith(".__init__") else name), path


def imports(name: str, path: Path) -> set[str]:
    """Every module of the package that ``path`` imports, at the top, in a function or for type checking."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = package.split(".")
            base = base[: len(base) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            found |= {module} if node.module else {f"{module}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
    return {m for m in found if m.startswith("vawgan_tts")}


def test_no_module_but_the_feature_folder_builds_an_utterances_path():
    pattern = re.compile(r"""f["']\{[^}]*\}\.npz["']""")
    offenders = [f"{path}:{n}" for name, path in _sources() if name != "vawgan_tts.feature_folder"
                 for n, line in enumerate(path.read_text().splitlines(), 1) if pattern.search(line)]
    assert not offenders, "build feature paths with feature_folder.utterance_path: " + ", ".join(offenders)


def test_the_package_has_no_import_cycle():
    modules = dict(_sources())
    graph = {name: {m for m in imports(name, path) if m in modules and m != name} for name, path in modules.items()}
    # a package's __init__ re-exports its modules on demand; the edge from a module to its own package is not a cycle
    graph = {n: {m for m in deps if not n.startswith(m + ".")} for n, deps in graph.items()}
    try:
        list(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as e:
        raise AssertionError(f"import cycle: {' -> '.join(e.args[1])}") from None
