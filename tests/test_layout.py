"""The package's shape: sub-packages follow the data flow, lower never importing higher, and no
module imports (directly or around a circle) one that imports it back.

Imports are read from the source with ``ast``, so imports inside functions and under
``TYPE_CHECKING`` count as much as those at the top of a module.
"""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "percepiano"
ROOT = PACKAGE.parent

# The data flow, lowest first. ``config``, ``errors``, ``io`` and ``codehash`` are run-wide and
# import nothing else of the package; ``plots`` draws the chapters' figures and reads the data
# layer only; the package's ``__init__``/``__main__`` sit on top.
LAYERS = [
    ("config", "errors", "io", "codehash"),
    ("data",),
    ("audio",),
    ("features",),
    ("evaluation",),
    ("models",),
    ("training",),
    ("analysis", "plots"),
    ("experiments",),
    ("cli",),
    ("", "__main__"),
]
LEVEL = {name: i for i, names in enumerate(LAYERS) for name in names}


def module_name(path: Path) -> str:
    parts = ["percepiano", *path.relative_to(PACKAGE).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports_of(name: str) -> set[str]:
    """The package's modules that module ``name`` imports (a ``from pkg import mod`` counts as
    importing ``pkg.mod`` when that is a module, else ``pkg``)."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative import
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}".rstrip(".")
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base
                       for alias in node.names]
        else:
            continue
        out |= {t for t in targets if t == "percepiano" or t.startswith("percepiano.")}
    return out - {name}


GRAPH = {name: imports_of(name) for name in MODULES}


def layer(name: str) -> int:
    top = name.split(".")[1] if "." in name else ""
    if top not in LEVEL:
        raise AssertionError(f"{name}: folder {top!r} has no place in LAYERS; add it there "
                             "and to the README's Layout section")
    return LEVEL[top]


def test_every_module_is_seen():
    assert {"percepiano.data.dataset", "percepiano.experiments.store",
            "percepiano.cli.main", "percepiano.training.train"} <= set(GRAPH)
    assert "percepiano.data.music" in GRAPH["percepiano.data.dataset"]
    assert "percepiano.experiments.store" in GRAPH["percepiano.experiments.ast"]


@pytest.mark.parametrize("name", sorted(MODULES))
def test_lower_layers_never_import_higher(name):
    higher = sorted(t for t in GRAPH[name] if layer(t) > layer(name))
    assert not higher, f"{name} imports higher layers: {higher}"


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph`` as a list of modules, or None (depth-first search)."""
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        state[node] = "done"
        stack.pop()
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_find_cycle_finds_one():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_no_import_cycles():
    cycle = find_cycle(GRAPH)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_entry_points_import_in_a_fresh_interpreter():
    code = ("import percepiano.experiments, percepiano.cli.main, sys; "
            "assert 'percepiano.experiments.ast' in sys.modules")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, cwd=ROOT)
    assert run.returncode == 0, run.stderr[-2000:]


def test_readme_layout_names_every_folder():
    readme = (ROOT / "README.md").read_text()
    layout = readme[readme.index("## Layout"):]
    folders = sorted(p.name for p in PACKAGE.iterdir()
                     if p.is_dir() and (p / "__init__.py").is_file())
    assert folders, "no sub-packages found"
    missing = [f for f in folders if f"{f}/" not in layout]
    assert not missing, f"README's Layout section does not show {missing}"


def test_tests_mirror_the_package():
    """Each sub-package has a test folder of the same name."""
    tests = Path(__file__).resolve().parent
    folders = [p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").is_file()]
    missing = [f for f in folders if not (tests / f).is_dir()]
    assert not missing, f"no tests/ folder for {missing}"


def _catches_warnings(node: ast.With) -> bool:
    return any(isinstance(item.context_expr, ast.Call)
               and ast.unparse(item.context_expr.func).endswith("catch_warnings")
               for item in node.items)


def test_every_midi_file_is_read_with_pretty_midis_tempo_warning_silenced():
    """PercePiano's files put tempo events on every track, and pretty_midi warns about each one
    it reads: a bare read writes to stderr in every chapter that shows such a file."""
    bare = []
    for name, path in MODULES.items():
        tree = ast.parse(path.read_text())
        parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and ast.unparse(node.func).endswith("PrettyMIDI")
                    and (node.args or node.keywords)
                    and not any(k.arg == "resolution" for k in node.keywords)):
                up = parents.get(node)
                while up is not None and not (isinstance(up, ast.With) and _catches_warnings(up)):
                    up = parents.get(up)
                if up is None:
                    bare.append(f"{name}:{node.lineno}")
    assert not bare, f"MIDI read without silencing pretty_midi's warnings: {bare}"
