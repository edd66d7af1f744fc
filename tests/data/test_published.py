"""Published numbers are kept as cited data, each with a source in references.bib."""

from pathlib import Path

from percepiano.data import published

BIB = (Path(__file__).resolve().parents[2] / "references.bib").read_text()


def test_published_numbers_and_sources():
    table = published.published_table()
    park = table[table.citation == "park2024percepiano"].set_index("split")
    assert park.loc["piece", "r2"] == 0.397 and park.loc["performer", "r2"] == 0.285
    muq = table[table.model.str.contains("MuQ")].iloc[0]
    assert (muq.r2, muq.r) == (0.533, 0.732)
    for entry in published.PUBLISHED:
        assert entry["source"] and "{" + entry["citation"] + "," in BIB
