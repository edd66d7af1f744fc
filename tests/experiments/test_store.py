"""The results store: run, load, find, verify, provenance, and the CLI around them."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from percepiano import codehash, config, experiments
from percepiano.cli.main import main
from percepiano.errors import UserError
from percepiano.experiments import store as results_store

CALLS = {"fake": 0}
HEADLINE = {"keys": ["pooled_r2", "pooled_r"], "metric": "pooled out-of-fold R² and r"}


def _fake(cfg: dict) -> dict:
    """A tiny deterministic experiment: numbers follow from its configuration."""
    CALLS["fake"] += 1
    n = cfg["n"]
    oof = pd.DataFrame({"a": np.arange(n) / 7.0, "b": np.ones(n)},
                       index=pd.Index([f"s{i}" for i in range(n)], name="name"))
    warnings.warn("a warning the store records", RuntimeWarning, stacklevel=1)
    return {"per_fold": [{"fold": i, "r2": np.float64(i / 10)} for i in range(n)],
            "pooled_r": np.float32(0.5), "extra": {"nested": (1, 2)}, "pooled_r2": 0.25 * n,
            "headline": HEADLINE, "oof": oof}


@pytest.fixture
def store(results_root, monkeypatch):
    """A fresh results root and a registered fake experiment (removed afterwards)."""
    monkeypatch.setitem(experiments.REGISTRY, "fake", experiments.Experiment(
        "fake", _fake, lambda s: {"n": s.folds, "seed": 0}, "a fake experiment"))
    CALLS["fake"] = 0
    return results_root


def test_run_writes_metrics_oof_and_provenance(store):
    res = experiments.run("fake", "smoke")
    folder = store / "smoke" / "fake"
    assert res.path == folder
    metrics = json.loads((folder / "metrics.json").read_text())
    # the headline comes first, then what it is
    assert list(metrics)[:3] == ["pooled_r2", "pooled_r", "headline"]
    assert metrics["pooled_r2"] == 0.5 and metrics["pooled_r"] == 0.5  # smoke: 2 folds
    assert metrics["headline"] == HEADLINE
    assert metrics["extra"] == {"nested": [1, 2]}
    assert [f["r2"] for f in metrics["per_fold"]] == [0.0, 0.1]
    oof = pd.read_csv(folder / "oof.csv.gz", index_col=0)
    assert oof.shape == (2, 2) and oof.loc["s1", "a"] == pytest.approx(1 / 7, rel=1e-5)
    prov = json.loads((folder / "provenance.json").read_text())
    for key in ("commit", "dirty", "config", "config_hash", "seed", "profile", "device",
                "packages", "wall_time_s", "timestamp"):
        assert key in prov, key
    assert prov["profile"] == "smoke" and prov["config"] == {"n": 2, "seed": 0}
    assert prov["seed"] == 0 and isinstance(prov["dirty"], (bool, type(None)))
    assert prov["config_hash"] == experiments.plan("fake", "smoke")[1]
    assert "numpy" in prov["packages"]
    assert any("a warning the store records" in w for w in prov["warnings"])


def test_run_keeps_warnings_out_of_the_output(store):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning escaping run() would raise here
        experiments.run("fake", "smoke")


def test_device_is_cpu_without_jax_or_the_jax_platform(store):
    prov = experiments.run("fake", "smoke").provenance
    import sys

    if "jax" in sys.modules:
        assert prov["device"].split()[0] == sys.modules["jax"].devices()[0].platform
    else:
        assert prov["device"] == "cpu"


def test_profiles_are_stored_apart(store):
    experiments.run("fake", "smoke")
    experiments.run("fake", "quick")
    assert experiments.load("fake", "smoke")["pooled_r2"] == 0.5
    assert experiments.load("fake", "quick")["pooled_r2"] == 1.0  # quick: 4 folds
    assert experiments.find("fake", "full") is None


def test_load_reads_current_results_and_never_runs(store, monkeypatch):
    with pytest.raises(UserError) as err:
        experiments.load("fake", "smoke")
    assert str(err.value) == ("no current results for fake in profile smoke: "
                              "percepiano run fake --profile smoke")
    with pytest.raises(UserError, match=r"profile quick: percepiano run fake$"):
        experiments.load("fake", "quick")
    assert CALLS["fake"] == 0
    first = experiments.run("fake", "smoke")
    again = experiments.load("fake", "smoke")
    assert CALLS["fake"] == 1  # read back, not run
    assert again.metrics == first.metrics and again.oof.shape == first.oof.shape
    # a change of the configuration makes the stored results stale
    monkeypatch.setitem(experiments.REGISTRY, "fake", experiments.Experiment(
        "fake", _fake, lambda s: {"n": 3, "seed": 0}, "changed"))
    assert experiments.find("fake", "smoke") is None
    with pytest.raises(UserError, match=r"\(stored results are stale \(config\)\): percepiano"):
        experiments.load("fake", "smoke")
    experiments.run("fake", "smoke")
    assert experiments.load("fake", "smoke")["pooled_r2"] == 0.75
    # so does bumping the version
    monkeypatch.setitem(experiments.REGISTRY, "fake", experiments.Experiment(
        "fake", _fake, lambda s: {"n": 3, "seed": 0}, "changed", version=2))
    assert experiments.find("fake", "smoke") is None
    assert CALLS["fake"] == 2


def test_verify_finds_no_difference_then_reports_a_changed_number(store):
    experiments.run("fake", "smoke")
    assert experiments.verify("fake", "smoke") == []
    path = store / "smoke" / "fake" / "metrics.json"
    metrics = json.loads(path.read_text())
    metrics["per_fold"][1]["r2"] = 0.2
    path.write_text(json.dumps(metrics))
    diffs = experiments.verify("fake", "smoke")
    assert len(diffs) == 1 and diffs[0].startswith("per_fold[1].r2: stored 0.2, now 0.1")
    assert experiments.verify("fake", "smoke", atol=0.5) == []


def test_differences_leave_timings_out_and_read_the_predictions(store):
    old = experiments.run("fake", "smoke")
    new = dataclasses.replace(old, metrics={**old.metrics, "wall_s": 99.0,
                                            "fits": [{"seconds": 3.0, "r2": 0.1}]})
    old = dataclasses.replace(old, metrics={**old.metrics, "wall_s": 1.0,
                                            "fits": [{"seconds": 1.0, "r2": 0.1}]})
    assert experiments.differences(old, new) == []
    moved = dataclasses.replace(new, oof=new.oof.assign(a=new.oof.a + 0.01))
    assert experiments.differences(old, moved) == ["oof: largest difference 0.01 > 1e-05"]
    other = dataclasses.replace(new, provenance={**new.provenance, "config_hash": "0" * 16})
    assert experiments.differences(old, other)[0].startswith("config_hash: stored")


def test_verify_without_stored_results_says_what_to_run(store):
    with pytest.raises(UserError, match="percepiano run fake"):
        experiments.verify("fake", "smoke")


def test_compare_walks_nested_values():
    old = {"a": 1.0, "b": [1, {"c": float("nan")}], "d": "x", "gone": 1}
    new = {"a": 1.0 + 1e-9, "b": [1, {"c": float("nan")}], "d": "y", "new": 2}
    diffs = experiments.compare(old, new, atol=1e-6)
    assert sorted(diffs) == sorted(["gone: missing in the new run", "new: not in the stored run",
                                    "d: stored 'x', now 'y'"])
    assert experiments.compare([1, 2], [1, 2, 3], 0) == ["(top): 2 items stored, 3 now"]
    assert experiments.compare({"x": 1.0}, {"x": 1.5}, 0.1) == [
        "x: stored 1, now 1.5 (diff +0.5)"]
    inf = float("inf")
    assert experiments.compare({"level": inf, "s": [-inf]}, {"level": inf, "s": [-inf]}, 0) == []
    assert experiments.compare({"level": inf}, {"level": -inf}, 0) == [
        "level: stored inf, now -inf (diff -inf)"]
    # what describes the machine is not compared, at any depth
    assert experiments.compare({"fits": [{"s_per_epoch": 1.0, "fit_s": {"forest": 2.0}}]},
                               {"fits": [{"s_per_epoch": 3.0, "fit_s": {"forest": 0.5}}]}, 0) == []


def test_unknown_experiment_and_bad_results_fail_clearly(store, monkeypatch):
    with pytest.raises(UserError, match="unknown experiment 'nope'; choose from"):
        experiments.run("nope", "smoke")
    for out, match in [
            ({"pooled_r2": 0.1, "pooled_r": 0.1}, "returned no headline"),
            ({"pooled_r2": 0.1, "headline": {"keys": ["pooled_r2"]}}, "returned no headline"),
            ({"pooled_r2": 0.1, "headline": {**HEADLINE}}, "no number 'pooled_r'"),
            ({"pooled_r2": 0.1, "pooled_r": "high", "headline": HEADLINE}, "no number"),
            # a vague name is refused, even beside a well-named headline
            ({"pooled_r2": 0.1, "pooled_r": 0.1, "mean_r2": 0.1, "headline": HEADLINE},
             "top-level 'mean_r2'; name its headline for what it is")]:
        monkeypatch.setitem(experiments.REGISTRY, "bad", experiments.Experiment(
            "bad", lambda cfg, out=out: out, lambda s: {}, "a bad headline"))
        with pytest.raises(ValueError, match=match):
            experiments.run("bad", "smoke")
    monkeypatch.setitem(experiments.REGISTRY, "bad", experiments.Experiment(
        "bad", lambda cfg: {"pooled_r2": 0, "pooled_r": 0, "headline": HEADLINE,
                            "x": object()}, lambda s: {}, ""))
    with pytest.raises(TypeError, match="cannot store object"):
        experiments.run("bad", "smoke")


def test_provenance_table_says_missing_current_or_stale(store, monkeypatch):
    table = experiments.provenance_table("smoke")
    assert table.loc["fake", "results"] == "missing"
    experiments.run("fake", "smoke")
    assert experiments.provenance_table("smoke").loc["fake", "results"] == "current"
    monkeypatch.setitem(experiments.REGISTRY, "fake", experiments.Experiment(
        "fake", _fake, lambda s: {"n": 5, "seed": 0}, "changed"))
    assert experiments.provenance_table("smoke").loc["fake", "results"] == "stale (config)"


def test_cli_run_verify_and_list(store, capsys):
    assert main(["run", "fake", "--profile", "smoke"]) == 0
    out = capsys.readouterr().out
    assert "fake" in out and "pooled R² +0.5000  pooled r +0.5000" in out
    assert main(["run", "fake", "--profile", "smoke", "--json"]) == 0
    row = json.loads(capsys.readouterr().out)[0]
    assert row["pooled_r2"] == 0.5 and row["headline"] == HEADLINE["metric"]
    assert main(["verify", "fake", "--profile", "smoke"]) == 0
    assert "reproduced" in capsys.readouterr().out
    path = store / "smoke" / "fake" / "metrics.json"
    metrics = json.loads(path.read_text())
    metrics["pooled_r2"] = 0.9
    path.write_text(json.dumps(metrics))
    assert main(["verify", "fake", "--profile", "smoke"]) == 1
    out = capsys.readouterr().out
    assert "1 differences" in out and "pooled_r2: stored 0.9, now 0.5" in out
    assert main(["experiments", "--json"]) == 0
    rows = {r["experiment"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["fake"]["smoke"] == "current" and rows["fake"]["quick"] == "-"
    assert main(["run", "nope"]) == 2
    assert "unknown experiment 'nope'" in capsys.readouterr().err
    assert main(["run"]) == 2


def _provenance(root, profile="smoke"):
    return json.loads((root / profile / "fake" / "provenance.json").read_text())


def _rewrite_provenance(root, profile="smoke", **changes):
    path = root / profile / "fake" / "provenance.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), **changes}))


def test_provenance_records_the_code_it_ran_without_comparing_it(store, git):
    git(dirty=False, commit="b" * 40)
    prov = experiments.run("fake", "smoke").provenance
    assert prov["commit"] == "b" * 40 and prov["dirty"] is False
    assert prov["package_digest"] == codehash.package_digest() and prov["version"] == 1
    # results are current for their configuration, whatever the code around them became
    _rewrite_provenance(store, package_digest="0" * 16, commit="a" * 40)
    assert results_store.status("fake", "smoke") == "current"
    _rewrite_provenance(store, config_hash="0" * 16)
    assert results_store.status("fake", "smoke") == "stale (config)"


def test_code_changes_come_from_git(tmp_path):
    def git(*args):
        return subprocess.run(["git", "-C", str(tmp_path), "-c", "user.name=t", "-c",
                               "user.email=t@t", *args], check=True, capture_output=True,
                              text=True).stdout.strip()

    package = tmp_path / codehash.PACKAGE.name
    package.mkdir()
    (package / "a.py").write_text("A = 1\n")
    (package / "b.py").write_text("B = 1\n")
    git("init", "-q")
    git("add", ".")
    git("commit", "-q", "-m", "first")
    first = git("rev-parse", "HEAD")
    assert codehash.changed_since(first, tmp_path) == []
    (package / "b.py").write_text("B = 2\n")  # uncommitted changes count too
    assert codehash.changed_since(first, tmp_path) == [f"{package.name}/b.py"]
    assert codehash.changed_since("f" * 40, tmp_path) is None  # a commit git does not know
    assert codehash.changed_since(None, tmp_path) is None


def test_provenance_table_marks_results_of_a_dirty_tree(store, git):
    git(dirty=True)
    experiments.run("fake", "smoke")
    row = experiments.provenance_table("smoke").loc["fake"]
    assert row["results"] == "current" and row["tree"] == "dirty" and row["commit"].endswith("+")
    git(dirty=False)
    experiments.run("fake", "smoke")
    row = experiments.provenance_table("smoke").loc["fake"]
    assert row["tree"] == "clean" and row["commit"] == "c" * 8
    assert experiments.provenance_table("full").loc["fake", "tree"] == ""


def test_cli_verify_all_names_what_moved(store, capsys):
    assert main(["verify", "--all", "--profile", "smoke"]) == 2  # nothing stored yet
    assert main(["verify", "fake", "--profile", "smoke"]) == 2
    assert "no stored results for fake" in capsys.readouterr().err
    experiments.run("fake", "smoke")
    assert main(["verify", "--all", "--profile", "smoke"]) == 0
    assert "fake (smoke): reproduced" in capsys.readouterr().out
    path = store / "smoke" / "fake" / "metrics.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), "pooled_r2": 0.9}))
    assert main(["verify", "--all", "--profile", "smoke"]) == 1
    out = capsys.readouterr().out
    assert "pooled_r2: stored 0.9, now 0.5" in out
    assert "numbers moved in fake: if that was meant, bump each one's version" in out


def test_cli_experiments_says_which_results_are_stale_and_dirty(store, git, capsys,
                                                                  monkeypatch):
    git(dirty=True)
    experiments.run("fake", "smoke")
    git(dirty=False)
    experiments.run("fake", "quick")
    _rewrite_provenance(store, "quick", config_hash="0" * 16)
    monkeypatch.setattr(codehash, "changed_since",
                        lambda commit, root=None: ["percepiano/a.py", "percepiano/b.py"])
    assert main(["experiments", "--json"]) == 0
    row = {r["experiment"]: r for r in json.loads(capsys.readouterr().out)}["fake"]
    assert (row["smoke"], row["quick"], row["full"]) == ("current", "stale (config)", "-")
    assert row["status"] == {"smoke": "current", "quick": "stale (config)", "full": "missing"}
    assert row["dirty"] == {"smoke": True, "quick": False, "full": None}
    assert row["code_changed_since"]["smoke"] == ["percepiano/a.py", "percepiano/b.py"]
    assert main(["experiments"]) == 0
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if x.startswith("fake "))
    assert line.split()[1:4] == ["current*", "stale", "(config)"]
    assert "* computed from a working tree with uncommitted changes" in out
    assert "code changed since the results were computed" in out
    assert "cccccccc (smoke/fake, quick/fake): 2 files: a.py, b.py" in out


def test_run_warns_before_storing_dirty_results_in_the_project(store, git, tmp_path,
                                                               monkeypatch, capsys):
    monkeypatch.delenv("PERCEPIANO_RESULTS")
    (tmp_path / "pyproject.toml").write_text("")
    monkeypatch.chdir(tmp_path)
    git(dirty=True)
    experiments.run("fake", "quick")
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "will show as dirty" in err and "commit the code" in err
    assert (tmp_path / "results" / "quick" / "fake" / "provenance.json").is_file()  # not refused
    experiments.run("fake", "smoke")  # smoke results are for tests
    experiments.run("fake", "quick", write=False)
    assert capsys.readouterr().err == ""
    git(dirty=False)
    experiments.run("fake", "quick")
    monkeypatch.setenv("PERCEPIANO_RESULTS", str(tmp_path / "elsewhere"))
    git(dirty=True)
    experiments.run("fake", "quick")
    assert capsys.readouterr().err == ""


def test_a_tree_is_dirty_for_code_changes_not_for_stored_results(tmp_path):
    def git(*args):
        subprocess.run(["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@t",
                        *args], check=True, capture_output=True)

    (tmp_path / "results").mkdir()
    (tmp_path / "code.py").write_text("X = 1\n")
    (tmp_path / "results" / "metrics.json").write_text("{}\n")
    git("init", "-q")
    git("add", ".")
    git("commit", "-q", "-m", "first")
    state = results_store._git(tmp_path)
    assert len(state["commit"]) == 40 and state["dirty"] is False
    (tmp_path / "results" / "metrics.json").write_text('{"mean_r2": 0.5}\n')
    (tmp_path / "untracked.py").write_text("")
    assert results_store._git(tmp_path)["dirty"] is False
    (tmp_path / "code.py").write_text("X = 2\n")
    assert results_store._git(tmp_path)["dirty"] is True


def test_results_dir_is_the_project_root_from_a_subfolder(tmp_path, monkeypatch):
    monkeypatch.delenv("PERCEPIANO_RESULTS", raising=False)
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "book").mkdir()
    monkeypatch.chdir(tmp_path / "book")
    assert config.results_dir() == (tmp_path / "results").resolve()
    monkeypatch.setenv("PERCEPIANO_RESULTS", "elsewhere")
    assert config.results_dir() == (tmp_path / "book" / "elsewhere").resolve()


def test_settings_grow_with_the_profile():
    smoke, quick, full = (config.settings(p) for p in config.PROFILES)
    assert smoke.ceiling_splits < quick.ceiling_splits <= full.ceiling_splits
    assert smoke.folds <= quick.folds and len(quick.seeds) <= len(full.seeds)
    assert smoke.max_segments is not None and full.max_segments is None
    with pytest.raises(ValueError, match="unknown profile 'huge'"):
        config.settings("huge")


def test_registered_experiments_of_the_first_chapters():
    assert {"data_ceiling", "identity_baselines"} <= set(experiments.REGISTRY)
    for name in experiments.REGISTRY:
        cfg, digest = experiments.plan(name, "smoke")
        assert json.loads(json.dumps(cfg)) == cfg and len(digest) == 16


def test_run_all_leaves_the_benchmarks_and_the_final_exam_out(store, monkeypatch):
    """`run --all` recomputes the results, not the speed of this machine, and never reads the
    locked final exam, which is read once, by name."""
    from percepiano.cli import run as cli_run

    ran = []
    monkeypatch.setattr(experiments, "REGISTRY", {
        "fake": experiments.REGISTRY["fake"],
        "speed": experiments.Experiment("speed", _fake, lambda s: {"n": 1}, "a benchmark",
                                        benchmark=True),
        "final_exam": experiments.Experiment("final_exam", _fake, lambda s: {"n": 1}, "exam")})
    monkeypatch.setattr(experiments, "run", lambda name, profile: ran.append(name) or
                        experiments.Results(name, "smoke", {"pooled_r2": 0.0, "pooled_r": 0.0,
                                                            "headline": HEADLINE},
                                            {"wall_time_s": 0.0}))
    cli_run.cmd_run(type("Args", (), {"all": True, "names": [], "profile": "smoke",
                                      "json": True, "force_exam": False})())
    assert ran == ["fake"]
    assert experiments.get("bench").benchmark


def test_stored_results_name_their_headline():
    """Every committed ``metrics.json`` names its headline numbers for what they are (pooled,
    fold-mean, a ceiling) and says in ``headline.metric`` what they measure; none carries a
    top-level ``mean_r2`` or ``mean_r``, which would not say which."""
    stored = sorted(Path(__file__).resolve().parents[2].glob("results/*/*/metrics.json"))
    for path in stored:
        metrics = json.loads(path.read_text())
        where = path.parent.relative_to(path.parents[2])
        assert not set(results_store.VAGUE) & set(metrics), f"{where}: a top-level mean_r2/mean_r"
        head = metrics.get("headline")
        assert isinstance(head, dict) and isinstance(head.get("metric"), str) and \
            head["metric"], f"{where}: no headline.metric"
        assert head.get("keys") and list(metrics)[:len(head["keys"])] == head["keys"], where
        assert all(isinstance(metrics[k], (int, float)) for k in head["keys"]), where


def test_equal_predictions_are_stored_as_equal_bytes(store, git):
    """The gzip header holds no file name and no time: a re-run that reproduces the
    predictions leaves ``oof.csv.gz`` byte for byte as it was."""
    git(dirty=False)
    experiments.run("fake", "smoke")
    first = (store / "smoke" / "fake" / "oof.csv.gz").read_bytes()
    experiments.run("fake", "smoke")
    assert (store / "smoke" / "fake" / "oof.csv.gz").read_bytes() == first
    assert first[3] == 0  # FLG: no FNAME, no FEXTRA, no FCOMMENT
    assert first[4:8] == b"\0\0\0\0"  # MTIME 0


@pytest.mark.parametrize("profile", ["quick", "full"])
def test_a_profiles_configuration_does_not_depend_on_the_active_profile(profile, monkeypatch):
    """Stored quick results stay current for a command run in another profile (a test runs in
    smoke): every experiment's configuration reads the profile it is planned for."""
    import percepiano.experiments  # noqa: F401 - registers every experiment

    plans = {}
    for active in ("smoke", "quick", "full"):
        monkeypatch.setenv("PERCEPIANO_PROFILE", active)
        plans[active] = {n: results_store.plan(n, profile)[1] for n in results_store.REGISTRY}
    assert plans["smoke"] == plans["quick"] == plans["full"]
