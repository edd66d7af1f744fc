"""`percepiano bench` from the command line."""

from percepiano.cli.main import main


def test_cli_bench_json_and_bad_preset(capsys):
    assert main(["bench", "--preset", "huge"]) == 2
    assert "unknown preset 'huge'" in capsys.readouterr().err
