"""The book: configuration, chapters, references, and (slow) a smoke build read in Chromium.

The static tests catch in a second what would otherwise fail the build: a chapter that is not
valid py:percent, a glued name used but never glued, a citation missing from references.bib, a
cross-reference to a label that does not exist, a number typed into the prose.
The slow test runs ``scripts/book_check.py check`` (``make book-check``): the whole smoke book,
built with warnings as errors, then every page opened in headless Chromium.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import jupytext
import pytest
import yaml

from percepiano.analysis.page import GLUED

ROOT = Path(__file__).resolve().parents[1]


def _toc_docs() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    docs = [toc["root"]]
    for part in toc.get("parts", []):
        docs += [c["file"] for c in part["chapters"]]
    return docs


def _source(doc: str) -> Path:
    for ext in (".py", ".md"):
        if (ROOT / f"{doc}{ext}").exists():
            return ROOT / f"{doc}{ext}"
    raise FileNotFoundError(doc)


def _chapters() -> list[Path]:
    return [p for p in map(_source, _toc_docs()) if p.suffix == ".py"]


def _cells(path: Path):
    nb = jupytext.reads(path.read_text(), fmt="py:percent")
    md = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    return nb, md, code


def test_config_executes_strictly_and_reads_chapters_as_py_percent():
    cfg = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert cfg["execute"]["execute_notebooks"] == "cache"
    assert cfg["execute"]["raise_on_error"] is True
    sphinx = cfg["sphinx"]["config"]
    assert sphinx["nb_execution_raise_on_error"] is True
    assert sphinx["nb_custom_formats"][".py"] == ["jupytext.reads", {"fmt": "py:percent"}]
    assert sphinx["html_theme"] == "sphinx_book_theme"
    for pattern in (".venv", "_build", "results", "tests", "percepiano", ".cache", "data"):
        assert pattern in cfg["exclude_patterns"]
    assert cfg["bibtex_bibfiles"] == ["references.bib"]
    assert cfg["only_build_toc_files"] is True


def test_every_page_of_the_toc_exists_and_chapters_are_notebooks():
    docs = _toc_docs()
    assert docs[0] == "book/intro" and {"book/data", "book/baselines"} <= set(docs)
    for doc in docs:
        _source(doc)
    for path in _chapters():
        nb, md, code = _cells(path)
        assert nb.metadata["kernelspec"]["name"] == "python3", path
        assert md.strip() and code.strip(), f"{path.name} needs prose and code"
        assert "import percepiano" in code or "from percepiano" in code


def test_bibliography_directive_appears_once():
    found = [d for d in _toc_docs() if "{bibliography}" in _source(d).read_text()]
    assert len(found) == 1


def test_references_cover_every_citation_and_the_required_works():
    bib = (ROOT / "references.bib").read_text()
    keys = set(re.findall(r"^@\w+\{([^,]+),", bib, flags=re.MULTILINE))
    assert len(keys) == len(re.findall(r"^@\w+\{", bib, flags=re.MULTILINE))  # no duplicates
    for required in ("park2024percepiano", "gong2021ast", "gong2022ssast",
                     "park2019specaugment", "zhang2018mixup", "zhu2025muq",
                     "spearman1910correlation", "brown1910some", "shrout1979intraclass",
                     "mcgraw1996forming", "breiman2001random"):
        assert required in keys, required
    for doc in _toc_docs():
        for group in re.findall(r"\{cite(?::\w+)?\}`([^`]+)`", _source(doc).read_text()):
            for key in group.split(","):
                assert key.strip() in keys, f"{doc} cites unknown {key!r}"


def test_glued_names_used_in_prose_are_glued_in_the_same_chapter():
    for path in _chapters():
        _, md, code = _cells(path)
        keys = re.findall(r"""glue(?:_figure)?\(\s*(f?)["']([^"']+)["']""", code)
        if "open_page()" in code:  # the chapter's set-up glues these for it
            keys += [("", name) for name in GLUED]
        # an f-string key (glue(f"n_{key}", ...)) matches any name of its shape
        patterns = [re.escape(k) if not f else re.sub(r"\\\{[^}]*\\\}", ".+", re.escape(k))
                    for f, k in keys]
        used = re.findall(r"\{glue(?::\w+)?\}`([^`:]+)(?::[^`]*)?`", md)
        used += re.findall(r"```\{glue:figure\}\s+(\S+)", md)
        assert used or path.stem == "references"
        for name in used:
            assert any(re.fullmatch(p, name) for p in patterns), \
                f"{path.name}: {{glue}}`{name}` is never glued"


def test_cross_references_point_to_existing_labels():
    text = "\n".join(_source(d).read_text() for d in _toc_docs())
    labels = set(re.findall(r"\((\S+?)\)=", text)) | set(re.findall(r":name:\s*(\S+)", text))
    labels |= set(re.findall(r'"name":\s*"([^"]+)"', text))
    for role, target in re.findall(r"\{(ref|numref)\}`([^`]+)`", text):
        target = re.sub(r".*<(.+)>$", r"\1", target)
        assert target in labels, f"{{{role}}}`{target}` has no label"


def test_every_figure_has_a_caption():
    """A glued figure without a caption is a picture the reader cannot place (and the book check
    counts one caption per glued figure)."""
    seen = 0
    for path in _chapters():
        _, md, _ = _cells(path)
        blocks = re.findall(r"^[`:]{3,}\{(?:glue:)?figure\}\s*(\S+)\n(.*?)^[`:]{3,}\s*$", md,
                            flags=re.MULTILINE | re.DOTALL)
        seen += len(blocks)
        for name, body in blocks:
            text = [ln for ln in body.splitlines() if ln.strip() and not ln.startswith(":")]
            assert text, f"{path.name}: figure {name} has no caption"
    assert seen >= 30  # the pattern reads the chapters' figure blocks


def test_no_number_is_typed_into_the_prose():
    """Decimal numbers in the text must be glued; a typed 0.397 would silently go stale."""
    for path in _chapters():
        _, md, _ = _cells(path)
        prose = re.sub(r"\{[\w:]+\}`[^`]*`", "", md)       # roles ({glue:text}`x:.3f`, {cite})
        prose = re.sub(r"^```.*$", "", prose, flags=re.MULTILINE)  # fences; captions are prose
        prose = re.sub(r"`[^`]*`", "", prose)
        prose = re.sub(r"^:::.*$|^:\w+:.*$", "", prose, flags=re.MULTILINE)
        typed = re.findall(r"(?<![\w.])\d+\.\d+(?![\w.])|\b\d+ ?%", prose)
        assert not typed, f"{path.name} types numbers into the prose: {typed[:5]}"


@pytest.mark.slow
def test_smoke_book_builds_and_reads_well_in_a_browser(smoke_root, data_root):
    """`make book-check`: build in the smoke profile with -W, open each page in Chromium.

    It reads the session's smoke results (``smoke_root``: the experiment tests and the
    comparison with the committed smoke results ran them) and runs only those missing there;
    executing the chapters takes about 6 minutes on 2 cores."""
    assert shutil.which("chromium") or shutil.which("chromium-browser"), \
        "chromium is needed for the book check: bash scripts/sysdeps.sh --book"
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "book_check.py"), "check",
                           "--results", str(smoke_root)],
                          cwd=ROOT, capture_output=True, text=True, timeout=2700, check=False)
    assert proc.returncode == 0, (proc.stdout[-4000:] + proc.stderr[-4000:])
    out = ROOT / "_build" / "book-check"
    assert (out / "landing.png").stat().st_size > 10_000
    assert (out / "_build" / "html" / "book" / "data.html").is_file()


def _checker():
    import importlib.util

    spec = importlib.util.spec_from_file_location("book_check", ROOT / "scripts" / "book_check.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_the_checker_flags_what_a_reader_would_see_as_broken():
    check = _checker()
    want = check.expected_figures("book/data")
    assert want >= 5  # the data chapter's glued figures
    good = check.Page()
    good.feed(f'<body data-check-images="{want}" data-check-broken="[]">'
              + "<figure><img src='a.png'><figcaption>c</figcaption></figure>" * want + "</body>")
    assert check.problems("book/data", good) == []
    bad = check.Page()
    bad.feed('<body data-check-images="2" data-check-broken=\'["x.png"]\'>'
             '<div class="output stderr">oops</div><pre>Traceback (most recent call last)</pre>'
             '<div class="system-message">bad</div></body>')
    found = " | ".join(check.problems("book/data", bad))
    for what in ("did not load", "images loaded", "figure captions", "stderr",
                 "Traceback", "docutils error"):
        assert what in found, what
    unloaded = check.Page()
    unloaded.feed("<body></body>")
    assert "did not finish loading" in check.problems("book/intro", unloaded)[0]


def test_toc_pages_follow_the_toc():
    assert _checker().toc_pages() == _toc_docs()


def test_the_results_check_reads_its_answer_past_what_libraries_print(tmp_path, monkeypatch):
    """Reading the committed smoke results imports pyfluidsynth, which prints where it found
    the library on stdout when ``CI`` is set; the check of which results are missing reads its
    own last line, and the package imports the binding with that line discarded."""
    monkeypatch.setenv("CI", "true")
    check = _checker()
    assert check.missing_results(check.environment("smoke", results=ROOT / "results")) == {
        "final_exam": "no stored results for final_exam in profile smoke: "
                      "percepiano run final_exam --profile smoke"}  # read once, never committed
    missing = check.missing_results(check.environment("smoke", results=tmp_path))
    assert "ast_cv" in missing and "final_exam" in missing and "bench" not in missing

