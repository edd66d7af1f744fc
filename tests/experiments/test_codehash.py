"""Code hashes: prose edits leave them alone, code edits change them, and the closure of an
experiment's module follows the package's imports minus the modules that cannot change numbers."""

from __future__ import annotations

import importlib.util
import time

import pytest

from percepiano import codehash

SOURCE = '''"""A module docstring."""
# a comment
import os  # a trailing comment

LIMIT = 3
"""An attribute docstring."""


def scale(a,
          b):  # arguments over two lines
    """What it does.

    At length."""
    label = f"{a!r:>{b}} {{braces}} {f'{b}'}"
    return ("x"
            "y") + label


class Box:
    "doc" "more doc"
    text = f"""several
{LIMIT}
lines"""

    def size(self): "a one-line docstring"; return os.sep
'''


def test_normalise_keeps_tokens_and_drops_prose():
    # the exact text guards the form on every Python version (f-strings tokenize differently
    # from 3.12 on; they count as their source text)
    assert codehash.normalise(SOURCE) == (
        'import os\n'
        'LIMIT = 3\n'
        'def scale ( a , b ) :\n'
        ' label = f"{a!r:>{b}} {{braces}} {f\'{b}\'}"\n'
        ' return ( "x" "y" ) + label\n'
        'class Box :\n'
        ' text = f"""several\n{LIMIT}\nlines"""\n'
        ' def size ( self ) : ; return os . sep\n')


def _write(path, text):
    path.write_text(text, encoding="utf-8")
    return codehash.file_hash(path)


def test_file_hash_ignores_comments_docstrings_and_blank_lines(tmp_path):
    path = tmp_path / "chapter.py"
    base = _write(path, SOURCE)
    assert len(base) == 12
    prose = (SOURCE.replace("# a comment", "# another comment, longer")
             .replace("At length.", "At greater length,\n    over two lines.")
             .replace('"doc" "more doc"', '"""Rewritten."""')
             .replace("LIMIT = 3\n", "\n\nLIMIT = 3  # why three\n\n")
             .replace("def scale(a,\n          b):", "def scale(a, b):"))
    assert prose != SOURCE and _write(path, prose) == base


@pytest.mark.parametrize("edit", [("LIMIT = 3", "LIMIT = 4"), ('"y"', '"z"'),
                                  ("return os.sep", "return os.linesep"),
                                  ("{{braces}}", "{{brackets}}"), ("import os", "import sys")])
def test_file_hash_changes_with_the_code(tmp_path, edit):
    path = tmp_path / "chapter.py"
    base = _write(path, SOURCE)
    assert _write(path, SOURCE.replace(*edit)) != base


def test_an_edit_is_seen_at_once_in_the_same_process(tmp_path):
    path = tmp_path / "chapter.py"
    first = _write(path, "X = 1\n")
    assert _write(path, "X = 2\n") != first  # same size, same instant: still re-read
    assert _write(path, "X = 1\n") == first


def _package(tmp_path) -> dict:
    """A stand-in package on ``tmp_path``: module name -> file."""
    files = {
        "percepiano.experiments.chapter": "from percepiano.experiments.store import experiment\n"
                                          "def run():\n    from percepiano.models import net\n",
        "percepiano.experiments.store": "from percepiano import config\n",
        "percepiano.models": "",
        "percepiano.models.net": "from . import layers\nimport percepiano.cli.main\n",
        "percepiano.models.layers": "from percepiano.plots import draw\nimport numpy\n",
        "percepiano.cli.main": "from percepiano.models import unused\n",
        "percepiano.models.unused": "",
        "percepiano.plots": "",
        "percepiano.config": "",
    }
    modules = {}
    for name, text in files.items():
        path = tmp_path / (name.replace(".", "_") + ("/__init__.py" if name == "percepiano.models"
                                                     else ".py"))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        modules[name] = path
    return modules


def test_closure_follows_imports_inside_functions_and_skips_excluded_modules(tmp_path):
    modules = _package(tmp_path)
    assert codehash.closure("percepiano.experiments.chapter", modules) == [
        "percepiano.experiments.chapter", "percepiano.models.layers", "percepiano.models.net"]
    before = codehash.module_hashes("percepiano.experiments.chapter", modules=modules)
    modules["percepiano.models.layers"].write_text("from percepiano.plots import draw\nX = 1\n")
    after = codehash.module_hashes("percepiano.experiments.chapter", modules=modules)
    assert [m for m in before if before[m] != after[m]] == ["percepiano.models.layers"]
    assert codehash.digest(before) != codehash.digest(after)
    with pytest.raises(ValueError, match="not a module of the percepiano package"):
        codehash.closure("elsewhere", modules)


def test_closure_of_the_data_chapter():
    modules = codehash.closure("percepiano.experiments.data")
    assert {"percepiano.experiments.data", "percepiano.evaluation.ceiling",
            "percepiano.data.dataset"} <= set(modules)
    assert "percepiano.experiments.store" not in modules
    assert not [m for m in modules if m.startswith("percepiano.cli")]
    assert not {"percepiano.plots", "percepiano.io", "percepiano.experiments"} & set(modules)


def test_every_experiment_module_hashes_quickly():
    start = time.perf_counter()
    for name in codehash.package_modules():
        if name.startswith("percepiano.experiments.") and not codehash.excluded(name):
            hashes = codehash.module_hashes(name)
            assert name in hashes and not [m for m in hashes if codehash.excluded(m)]
    assert time.perf_counter() - start < 30


def test_a_function_outside_the_package_is_hashed_from_its_file_alone(tmp_path):
    path = tmp_path / "elsewhere.py"
    path.write_text("from percepiano.data import dataset\n\ndef f(cfg):\n    return cfg\n")
    spec = importlib.util.spec_from_file_location("elsewhere", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    digest, hashes = codehash.of_function(module.f)
    assert hashes == {"elsewhere": codehash.file_hash(path)} and len(digest) == 16
    assert codehash.of_function(len) == (codehash.digest({}), {})  # a builtin: nothing to hash
