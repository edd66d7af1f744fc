"""The project files agree with each other."""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _name(req: str) -> str:
    return re.split(r"[<>=!~\[ ;]", req.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_environment_yml_lists_the_pyproject_dependencies():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {_name(r) for r in project["dependencies"]}
    for extra in ("book", "dev", "transcribe"):  # what `make` installs
        wanted |= {_name(r) for r in project["optional-dependencies"][extra]}
    text = (ROOT / "environment.yml").read_text()
    pip_lines = re.findall(r"^\s+- (?!-e)([A-Za-z0-9_.\-\[\]]+[^\n]*)$", text.split("- pip:")[1],
                           flags=re.MULTILINE)
    listed = {_name(x) for x in pip_lines}
    assert wanted == listed, (wanted - listed, listed - wanted)
    assert "fluidsynth" in text.split("- pip:")[0]  # the synthesiser itself from conda-forge


def test_readme_has_the_two_commands():
    readme = (ROOT / "README.md").read_text()
    assert "make book" in readme and "make test" in readme
    assert "make test" in (ROOT / ".ci" / "run").read_text()
