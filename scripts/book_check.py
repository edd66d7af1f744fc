#!/usr/bin/env python3
"""Build the book, and check it as a reader would see it.

    python scripts/book_check.py build [--profile quick] [--rerun]    (make book)
    python scripts/book_check.py check                                (make book-check)

``build`` builds the book into ``_build/html`` from the results stored for the profile; the
chapters only read them. It first checks that every experiment a chapter reads has current
results and stops in one line naming what to run when one has none (``--rerun`` recomputes
every experiment of the profile, ``percepiano run --all``, instead). The chapters' execution is
cached by jupyter-cache on their code alone, so when the profile, the stored results or the
package's source change, the cache and Sphinx's environment are dropped first (a stamp in
``_build/`` records what the last build used). The chapters missing from that cache are
executed first, ``--jobs`` at a time (default: one per core, at most four), each in its own
kernel and folder exactly as myst-nb would, and stored in jupyter-cache; ``jupyter-book`` then
only reads them (``-q``: its warnings and errors, not its progress and configuration).

``check`` builds the book in the ``smoke`` profile from scratch (fresh results, fresh cache, under
``_build/book-check/``), then opens every page of the table of contents in headless Chromium and
fails unless each page rendered, has at least as many loaded images as its source has glued
figures, and shows no error output (stderr cells, tracebacks, docutils system messages). A
screenshot of each page lands beside the build (``_build/book-check/<page>.png``; the landing
page is ``landing.png``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from concurrent.futures import ProcessPoolExecutor, as_completed
from html.parser import HTMLParser
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "_build"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]
# Reports, once the page has loaded, how many images it has and which failed to load.
PROBE = """<script>window.addEventListener('load', function () {
  var imgs = Array.prototype.slice.call(document.images);
  var bad = imgs.filter(function (i) { return !(i.complete && i.naturalWidth > 0); })
                .map(function (i) { return i.getAttribute('src'); });
  document.body.setAttribute('data-check-images', String(imgs.length));
  document.body.setAttribute('data-check-broken', JSON.stringify(bad));
});</script>"""


def log(msg: str) -> None:
    print(f"[book] {msg}", flush=True)


def venv_bin(name: str) -> str:
    """A tool from the interpreter's own environment (the project's .venv under make)."""
    here = Path(sys.executable).parent / name
    return str(here) if here.exists() else name


def environment(profile: str, results: Path | None = None) -> dict:
    env = dict(os.environ, PERCEPIANO_PROFILE=profile, TQDM_DISABLE="1")
    env.setdefault("PERCEPIANO_CACHE", str(ROOT / ".cache" / "percepiano"))
    env["PERCEPIANO_CACHE"] = str(Path(env["PERCEPIANO_CACHE"]).resolve())
    if results is not None:
        env["PERCEPIANO_RESULTS"] = str(results)
    elif env.get("PERCEPIANO_RESULTS"):
        env["PERCEPIANO_RESULTS"] = str(Path(env["PERCEPIANO_RESULTS"]).resolve())
    return env


def folder_digest(folder: Path, pattern: str = "*") -> str:
    """A digest of the names and bytes of the files under ``folder`` matching ``pattern``."""
    h = hashlib.sha256()
    if folder.is_dir():
        for p in sorted(folder.rglob(pattern)):
            if p.is_file():
                h.update(str(p.relative_to(folder)).encode())
                h.update(p.read_bytes())
    return h.hexdigest()[:16]


def missing_results(env: dict) -> dict[str, str]:
    """{experiment: one line saying what to run} for every experiment the chapters read (every
    registered one but the benchmarks) without current results in the profile of ``env`` (the
    final exam's are read once: stored is enough)."""
    code = ("import json\nfrom percepiano import experiments as E\nfrom percepiano.errors import "
            "UserError\nfrom percepiano.experiments.results import exam_results\nout = []\n"
            "for n, e in sorted(E.REGISTRY.items()):\n    if e.benchmark:\n        continue\n"
            "    try:\n        exam_results() if n == 'final_exam' else E.load(n)\n"
            "    except UserError as err:\n        out.append([n, str(err)])\n"
            "print(json.dumps(dict(out)))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                          text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"could not read the stored results: {proc.stderr.strip()[-500:]}")
    # the last line: importing pyfluidsynth prints where it found the library on stdout
    return json.loads(proc.stdout.strip().splitlines()[-1])


def jupyter_book(out: Path, env: dict, force: bool, quiet: bool = False) -> float:
    """``jupyter-book build . -W --keep-going`` into ``out`` (``-q``: warnings and errors only);
    returns the wall time."""
    cmd = [venv_bin("jupyter-book"), "build", str(ROOT), "-W", "--keep-going",
           "--path-output", str(out)]
    if force:
        cmd.append("--all")
    if quiet:
        cmd.append("-q")
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"book build failed (exit {proc.returncode}); see the messages above")
    return time.perf_counter() - start


# --------------------------------------------------------------------------- executing chapters


def read_chapter(path: Path):
    """The chapter as myst-nb reads it (``nb_custom_formats`` in _config.yml)."""
    import jupytext

    return jupytext.reads(path.read_text(encoding="utf-8"), fmt="py:percent")


def execute_chapter(path: str, env: dict) -> tuple[str, object, float, str | None]:
    """Run one chapter as myst-nb's cache mode does (a fresh kernel, the chapter's folder as
    working directory, no errors allowed, _config.yml's timeout per cell): (path, executed
    notebook, seconds, traceback or None). The kernel manager gives the kernel CurveZMQ keys
    where its kernelspec supports them (ipykernel's does), so its messages are encrypted and
    ipykernel has nothing to warn about."""
    import yaml
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError
    from traitlets.config import Config

    os.environ.update(env)
    timeout = yaml.safe_load((ROOT / "_config.yml").read_text())["execute"]["timeout"]
    nb = read_chapter(Path(path))
    client = NotebookClient(nb, timeout=timeout, allow_errors=False, record_timing=False,
                            resources={"metadata": {"path": str(Path(path).parent)}},
                            config=Config({"KernelManager": {"transport_encryption": "auto"}}))
    start = time.perf_counter()
    try:
        client.execute()
    except (CellExecutionError, CellTimeoutError):
        return path, None, time.perf_counter() - start, traceback.format_exc()
    return path, nb, time.perf_counter() - start, None


def execute_chapters(cache_path: Path, env: dict, jobs: int) -> None:
    """Execute every chapter of the table of contents that jupyter-cache at ``cache_path``
    does not hold, ``jobs`` at a time, longest first (the seconds the last run took, kept in
    ``_build/.chapter-seconds.json``), and store each there as myst-nb would. Stops with the
    traceback of the first chapter that fails."""
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    cache = get_cache(str(cache_path))
    todo = []
    for doc in toc_pages():
        path = ROOT / f"{doc}.py"
        if path.is_file():
            try:
                cache.match_cache_notebook(read_chapter(path))
            except KeyError:
                todo.append(path)
    if not todo:
        return
    seconds_path = BUILD / ".chapter-seconds.json"
    seconds = json.loads(seconds_path.read_text()) if seconds_path.is_file() else {}
    todo.sort(key=lambda p: -seconds.get(p.stem, float("inf")))  # unknown ones first
    log(f"executing {len(todo)} chapters, {jobs} at a time")
    # the cores shared out among the kernels: BLAS threads beyond them only wait on each other
    # (a thread count the caller set is kept)
    threads = str(max(1, (os.cpu_count() or 1) // jobs))
    env = {**{k: threads for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                   "MKL_NUM_THREADS")}, **env}
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(jobs, mp_context=context) as pool:
        running = [pool.submit(execute_chapter, str(p), env) for p in todo]
        for done in as_completed(running):
            path, nb, took, error = done.result()
            name = Path(path).stem
            if error is not None:
                for other in running:
                    other.cancel()
                print(error, file=sys.stderr)
                raise SystemExit(f"chapter {name} failed after {took:.0f} s; see above")
            cache.cache_notebook_bundle(CacheBundleIn(nb, path, data={
                "execution_seconds": took}), check_validity=False, overwrite=True)
            seconds[name] = round(took, 1)
            log(f"{name}: executed in {took:.0f} s")
    BUILD.mkdir(exist_ok=True)
    seconds_path.write_text(json.dumps(seconds, indent=1, sort_keys=True))


def build(profile: str, rerun: bool, jobs: int) -> float:
    env = environment(profile)
    if rerun:
        log(f"recomputing every experiment of the {profile} profile")
        subprocess.run([venv_bin("percepiano"), "run", "--all", "--profile", profile],
                       cwd=ROOT, env=env, check=True)
    elif missing := missing_results(env):
        print("\n".join(missing.values()), file=sys.stderr)
        raise SystemExit(f"the {profile} book reads stored results only; compute the missing "
                         "ones first (or `make book RERUN=1`)")
    results = Path(env.get("PERCEPIANO_RESULTS") or ROOT / "results") / profile
    stamp_path = BUILD / ".book-stamp.json"
    stamp = {"profile": profile, "results": folder_digest(results),
             "package": folder_digest(ROOT / "percepiano", "*.py"),
             "data": os.environ.get("PERCEPIANO_DATA", "")}
    old = json.loads(stamp_path.read_text()) if stamp_path.is_file() else None
    force = old != stamp
    if force:  # outputs cached on chapter code alone would show older numbers or sentences
        log("profile, stored results or package source changed since the last build: "
            "executing every chapter")
        shutil.rmtree(BUILD / ".jupyter_cache", ignore_errors=True)
        shutil.rmtree(BUILD / ".doctrees", ignore_errors=True)
    BUILD.mkdir(exist_ok=True)
    stamp_path.unlink(missing_ok=True)
    start = time.perf_counter()
    execute_chapters(BUILD / ".jupyter_cache", env, jobs)
    log(f"chapters ready after {time.perf_counter() - start:.0f} s; building the pages")
    jupyter_book(ROOT, env, force, quiet=True)
    wall = time.perf_counter() - start
    stamp_path.write_text(json.dumps(stamp))
    log(f"built the {profile} book in {wall:.0f} s: {BUILD / 'html' / 'index.html'}")
    return wall


# --------------------------------------------------------------------------- reading the pages


class Page(HTMLParser):
    """The parts of a rendered page the check looks at."""

    def __init__(self):
        super().__init__()
        self.classes: list[set[str]] = []
        self.images: list[str] = []
        self.figures = 0
        self.body: dict[str, str] = {}
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.classes.append(set((attrs.get("class") or "").split()))
        if tag == "img":
            self.images.append(attrs.get("src") or "")
        if tag == "figcaption":
            self.figures += 1
        if tag == "body":
            self.body = {k: v or "" for k, v in attrs.items()}

    def handle_data(self, data):
        self.text.append(data)


def toc_pages() -> list[str]:
    """Document names in ``_toc.yml`` order (root first)."""
    text = (ROOT / "_toc.yml").read_text()
    root = re.search(r"^root:\s*(\S+)", text, re.MULTILINE).group(1)
    return [root] + re.findall(r"-\s*file:\s*(\S+)", text)


def expected_figures(doc: str) -> int:
    src = next(ROOT / f"{doc}{ext}" for ext in (".py", ".md") if (ROOT / f"{doc}{ext}").exists())
    return len(re.findall(r"^[#\s]*(?:```|:::)\{(?:glue:)?figure\}", src.read_text(),
                          flags=re.MULTILINE))


def chromium(args: list[str], profile_dir: Path, timeout: int = 120) -> subprocess.CompletedProcess:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        raise SystemExit("chromium is not installed; run `bash scripts/sysdeps.sh --book`")
    return subprocess.run([exe, *CHROMIUM_FLAGS, f"--user-data-dir={profile_dir}", *args],
                          capture_output=True, text=True, timeout=timeout, check=False)


def read_page(html: Path, profile_dir: Path) -> Page:
    """Render ``html`` in Chromium (with the image probe added) and parse the resulting DOM."""
    probe = html.with_name(f".check-{html.name}")
    probe.write_text(html.read_text().replace("</body>", PROBE + "</body>", 1))
    try:
        proc = chromium(["--virtual-time-budget=15000", "--dump-dom", probe.as_uri()],
                        profile_dir)
    finally:
        probe.unlink(missing_ok=True)
    if proc.returncode != 0 or "<body" not in proc.stdout:
        raise SystemExit(f"chromium could not render {html}: {proc.stderr.strip()[-500:]}")
    page = Page()
    page.feed(proc.stdout)
    return page


def problems(doc: str, page: Page) -> list[str]:
    out = []
    if "data-check-images" not in page.body:
        out.append("the page did not finish loading (no image report)")
    else:
        n = int(page.body["data-check-images"])
        broken = json.loads(page.body.get("data-check-broken") or "[]")
        want = expected_figures(doc)
        if broken:
            out.append(f"{len(broken)} images did not load: {broken[:3]}")
        if n - len(broken) < want:
            out.append(f"{n - len(broken)} images loaded, the source glues {want} figures")
        if page.figures < want:
            out.append(f"{page.figures} figure captions, the source has {want}")
    bad_classes = {"stderr": "a cell wrote to stderr", "traceback": "a traceback",
                   "system-message": "a docutils error message", "output_error": "an error"}
    for cls, what in bad_classes.items():
        if any(cls in c for c in page.classes):
            out.append(f"{what} is shown (class {cls!r})")
    text = " ".join(page.text)
    for needle in ("Traceback (most recent call last)", "Error executing", "[glue]"):
        if needle in text:
            out.append(f"the page shows {needle!r}")
    return out


def check(out: Path, keep: bool = False, results: Path | None = None) -> int:
    """Build the smoke book from scratch under ``out`` and read every page; ``results``: a
    results root whose smoke results are read instead of running the experiments again (those
    missing there are run into it)."""
    if not keep:
        shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)
    env = environment("smoke", results=(results or out / "results").resolve())
    start = time.perf_counter()
    if missing := list(missing_results(env)):
        log(f"running {len(missing)} smoke experiments")
        subprocess.run([venv_bin("percepiano"), "run", *missing, "--profile", "smoke"],
                       cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
        log(f"ran the smoke experiments in {time.perf_counter() - start:.0f} s")
    log("building the smoke book")
    log(f"built the smoke book in {jupyter_book(out, env, force=True):.0f} s; reading its pages")
    html_root = out / "_build" / "html"
    failures = {}
    with tempfile.TemporaryDirectory(prefix="book-check-chromium-") as profile_dir:
        for doc in toc_pages():
            html = html_root / f"{doc}.html"
            if not html.is_file():
                failures[doc] = ["the page was not built"]
                continue
            found = problems(doc, read_page(html, Path(profile_dir)))
            shot = out / ("landing.png" if doc == toc_pages()[0] else f"{Path(doc).name}.png")
            chromium(["--window-size=1280,2400", "--hide-scrollbars",
                      f"--screenshot={shot}", html.as_uri()], Path(profile_dir))
            if not shot.is_file() or shot.stat().st_size == 0:
                found.append("no screenshot could be taken")
            if found:
                failures[doc] = found
            log(f"{doc}: {'; '.join(found) if found else 'ok'}")
    wall = time.perf_counter() - start
    if failures:
        print(f"book check failed on {len(failures)} pages:", file=sys.stderr)
        for doc, found in failures.items():
            for f in found:
                print(f"  {doc}: {f}", file=sys.stderr)
        return 1
    log(f"book check passed in {wall:.0f} s; screenshots in {out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help="build the book into _build/html")
    b.add_argument("--profile", default=os.environ.get("PERCEPIANO_PROFILE") or "quick",
                   choices=("smoke", "quick", "full"))
    b.add_argument("--rerun", action="store_true", help="recompute every experiment first")
    b.add_argument("--jobs", type=int, default=min(4, os.cpu_count() or 1),
                   help="chapters executed at a time (default: one per core, at most four: "
                        "each kernel holds its own copy of the results)")
    c = sub.add_parser("check", help="build the smoke book and read every page in Chromium")
    c.add_argument("--out", type=Path, default=BUILD / "book-check")
    c.add_argument("--keep", action="store_true", help="reuse the previous check's build")
    c.add_argument("--results", type=Path, default=None,
                   help="read the smoke results stored under this results root (running only "
                        "those missing there) instead of running every experiment afresh")
    args = parser.parse_args(argv)
    if args.cmd == "build":
        build(args.profile, args.rerun, max(1, args.jobs))
        return 0
    return check(args.out.resolve(), args.keep, args.results)


if __name__ == "__main__":
    sys.exit(main())
