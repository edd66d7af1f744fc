"""Digests of the package's source, for caches whose contents code can change, and git state.

A cache of something the code computes (a final model, a pretrained listener) must be rebuilt
when that code changes, and only then: its key holds the code hash of the function that builds
it (``of_function``). That code is the module that defines the function and, for a module of
this package, every package module it imports, transitively. Imports are read from the source
with ``ast``, so imports inside functions (and under ``TYPE_CHECKING``) count; ``from pkg import
mod`` counts as importing ``pkg.mod`` when that is a module, else ``pkg``. The parents of an
imported module count only when imported themselves. Modules that cannot change what is built
are left out, and their imports are not followed: the results store
(``percepiano.experiments.store``), this module, the command line (``percepiano.cli``), the
chapters' figures (``percepiano.plots``) and atomic writes (``percepiano.io``). A module outside
the package is hashed alone.

Stored *results* are not keyed by code: they are current when their configuration matches
(``experiments.store``), and record the commit, the dirty flag (``checkout_state``) and a digest
of the whole package (``package_digest``); ``changed_since`` lists from git what changed after.

Only ``.py`` files are hashed: data files kept beside the code (``data/manifest.sha256``) and
third-party packages are not (their versions are recorded in the provenance). Each file is hashed
in a normalised form, one logical line per line with its tokens separated by spaces, without
comments, blank lines, line breaks inside brackets, or string statements (docstrings), so that
editing prose leaves the hash alone and editing code changes it. The form is built from
``tokenize`` tokens rather than ``ast.dump`` (whose output changes between Python versions);
an f-string counts as its source text, as Python 3.11 tokenizes it, on every version.

Files are read on every call and parsed once per process and content.
"""

from __future__ import annotations

import ast
import hashlib
import inspect
import io
import json
import subprocess
import tokenize
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent  # the percepiano folder
EXCLUDED = ("percepiano.experiments.store", "percepiano.codehash", "percepiano.cli",
            "percepiano.plots", "percepiano.io")
_SKIP = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT,
         tokenize.ENCODING, tokenize.ENDMARKER}
# f-strings (Python 3.12+) and t-strings (3.14+) arrive as several tokens; taken whole instead
_OPEN = {getattr(tokenize, t) for t in ("FSTRING_START", "TSTRING_START") if hasattr(tokenize, t)}
_CLOSE = {getattr(tokenize, t) for t in ("FSTRING_END", "TSTRING_END") if hasattr(tokenize, t)}


def normalise(source: str) -> str:
    """``source`` without comments, blank lines, line breaks inside brackets and string
    statements: one logical line per line, indented by one space per level, tokens joined by
    single spaces."""
    lines = io.StringIO(source).readlines()  # split where tokenize splits
    prose = _string_statements(source, lines)
    out, words, depth, nested, start = [], [], 0, 0, None
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type in _OPEN:
            nested += 1
            start = tok.start if nested == 1 else start
            continue
        if nested:
            if tok.type in _CLOSE:
                nested -= 1
                if not nested:
                    words.append(_text(lines, start, tok.end))
            continue
        if tok.type == tokenize.INDENT:
            depth += 1
        elif tok.type == tokenize.DEDENT:
            depth -= 1
        elif tok.type == tokenize.NEWLINE:
            if words:
                out.append(" " * depth + " ".join(words))
            words = []
        elif tok.type == tokenize.STRING and any(a <= tok.start < b for a, b in prose):
            continue
        elif tok.type not in _SKIP:
            words.append(tok.string)
    if words:
        out.append(" " * depth + " ".join(words))
    return "\n".join(out) + "\n"


def file_hash(path: Path) -> str:
    """The hash (12 hex digits) of ``path``'s normalised source."""
    return _scan(path)[0]


def package_modules() -> dict[str, Path]:
    """Every module of the package by dotted name (a package by its ``__init__.py``)."""
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = ["percepiano", *path.relative_to(PACKAGE).with_suffix("").parts]
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def excluded(name: str) -> bool:
    """Whether module ``name`` is left out of code hashes (it cannot change the numbers)."""
    return any(name == e or name.startswith(e + ".") for e in EXCLUDED)


def closure(module: str, modules: dict[str, Path] | None = None) -> list[str]:
    """``module`` and the package modules it imports, transitively, minus the excluded ones."""
    modules = package_modules() if modules is None else modules
    if module not in modules:
        raise ValueError(f"{module!r} is not a module of the percepiano package")
    seen, todo = set(), [module]
    while todo:
        name = todo.pop()
        if name in seen or excluded(name):
            continue
        seen.add(name)
        todo += sorted(_imports(name, modules) - seen)
    return sorted(seen)


def module_hashes(module: str, path: Path | None = None,
                  modules: dict[str, Path] | None = None) -> dict[str, str]:
    """The file hash of every module in the code of ``module``: its closure for a package
    module (of ``modules``, default the package's), else the file at ``path`` alone (``{}``
    without one)."""
    modules = package_modules() if modules is None else modules
    if module in modules:
        return {name: file_hash(modules[name]) for name in closure(module, modules)}
    return {module: file_hash(path)} if path is not None else {}


def digest(hashes: dict[str, str]) -> str:
    """One hash (16 hex digits) of a ``module_hashes`` result."""
    return hashlib.sha256(json.dumps(hashes, sort_keys=True).encode()).hexdigest()[:16]


def of_function(func: Callable) -> tuple[str, dict[str, str]]:
    """The code hash of ``func`` (the module that defines it and what that imports) and the
    file hash of each module it covers."""
    module = getattr(func, "__module__", None) or ""
    try:
        path = inspect.getsourcefile(func)
    except TypeError:  # a builtin: no source to hash
        path = None
    hashes = module_hashes(module, Path(path) if path else None)
    return digest(hashes), hashes


# --------------------------------------------------------------------------- helpers


def _imports(name: str, modules: dict[str, Path]) -> set[str]:
    """The package modules that module ``name`` imports."""
    path = modules[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for base, level, names in _scan(path)[1]:
        if level:  # relative import
            anchor = package.rsplit(".", level - 1)[0] if level > 1 else package
            base = f"{anchor}.{base}".rstrip(".")
        if names is None:
            out.add(base)
        else:
            out |= {f"{base}.{a}" if f"{base}.{a}" in modules else base for a in names}
    return out & set(modules) - {name}


def _scan(path: Path) -> tuple[str, tuple]:
    """The normalised-source hash of ``path`` and its imports as ``(module, level, names)``
    (``names`` None for ``import module``)."""
    return _scan_source(Path(path).read_text(encoding="utf-8"))


@lru_cache(maxsize=1024)
def _scan_source(source: str) -> tuple[str, tuple]:
    """``_scan`` of a file's text, cached by the text (reading is cheap, parsing is not)."""
    imports = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imports += [(alias.name, 0, None) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            imports.append((node.module or "", node.level, tuple(a.name for a in node.names)))
    return hashlib.sha256(normalise(source).encode()).hexdigest()[:12], tuple(imports)


def _string_statements(source: str, lines: list[str]) -> list[tuple[tuple, tuple]]:
    """Where every string statement (a docstring) starts and ends, as ``tokenize`` positions."""
    spans = []
    for node in ast.walk(ast.parse(source)):
        if (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
                and isinstance(node.value.value, str)):
            spans.append(((node.lineno, _column(lines, node.lineno, node.col_offset)),
                          (node.end_lineno, _column(lines, node.end_lineno, node.end_col_offset))))
    return spans


def _column(lines: list[str], lineno: int, byte_offset: int) -> int:
    """An ``ast`` column (UTF-8 bytes) as a ``tokenize`` column (characters)."""
    return len(lines[lineno - 1].encode()[:byte_offset].decode(errors="ignore"))


def _text(lines: list[str], start: tuple[int, int], end: tuple[int, int]) -> str:
    """The source between two ``tokenize`` positions (rows from 1, columns in characters)."""
    (r1, c1), (r2, c2) = start, end
    if r1 == r2:
        return lines[r1 - 1][c1:c2]
    return lines[r1 - 1][c1:] + "".join(lines[r1:r2 - 1]) + lines[r2 - 1][:c2]


def package_digest() -> str:
    """A digest of the whole package's normalised source (every ``.py`` file, ``file_hash``),
    16 hex digits: what a stored result records of the code it ran."""
    return digest({name: file_hash(path) for name, path in package_modules().items()})


def changed_since(commit: str | None, root: Path | None = None) -> list[str] | None:
    """The package's files (paths from the checkout's root) that differ between ``commit`` and
    the working tree of ``root`` (default: the checkout holding this package), committed or not;
    None when there is no commit, ``root`` is not a git checkout or git does not know it."""
    root = root or PACKAGE.parent
    if not commit:
        return None
    try:
        out = subprocess.run(["git", "-C", str(root), "diff", "--name-only", commit, "--",
                              PACKAGE.name], capture_output=True, text=True, timeout=30,
                             check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return sorted(out.stdout.split()) if out.returncode == 0 else None


def checkout_state(root: Path | None = None) -> dict:
    """``{"commit", "dirty"}``: the commit checked out in ``root`` (default: the checkout holding
    this package) and whether its tracked files outside ``results/`` have uncommitted changes
    (stored results are not code: writing one experiment's must not make the next dirty); both
    None outside git or when git cannot be run."""
    root = root or Path(__file__).resolve().parents[1]

    def git(*args):
        return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True,
                              timeout=30, check=False)

    try:
        head = git("rev-parse", "HEAD")
        status = git("status", "--porcelain", "--untracked-files=no", "--", ".",
                     ":(exclude)results")
    except (OSError, subprocess.TimeoutExpired):
        return {"commit": None, "dirty": None}
    if head.returncode != 0:
        return {"commit": None, "dirty": None}
    return {"commit": head.stdout.strip(),
            "dirty": bool(status.stdout.strip()) if status.returncode == 0 else None}
