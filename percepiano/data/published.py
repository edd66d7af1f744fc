"""Published results on PercePiano that the book compares with.

These are citations, not our results: each entry names its source, the split it was measured
on and the numbers as printed. Keys of ``citation`` are entries of the book's references.bib.
"""

from __future__ import annotations

import pandas as pd

PUBLISHED: tuple[dict, ...] = (
    {
        "model": "Bi-LSTM + score + HAN",
        "input": "performance MIDI aligned to the score",
        "split": "piece",
        "r2": 0.397,
        "r": None,
        "source": "Park et al. (2024), Sci. Rep. 14:23002",
        "citation": "park2024percepiano",
    },
    {
        "model": "Bi-LSTM + score + HAN",
        "input": "performance MIDI aligned to the score",
        "split": "performer",
        "r2": 0.285,
        "r": None,
        "source": "Park et al. (2024), Sci. Rep. 14:23002",
        "citation": "park2024percepiano",
    },
    {
        "model": "frozen MuQ embeddings + regression head",
        "input": "audio rendered from the MIDI (Pianoteq)",
        "split": "excerpt (random)",
        "r2": 0.533,
        "r": 0.732,
        "source": "Dhiman (2026), arXiv:2601.19029; MuQ encoder of Zhu et al. (2025)",
        "citation": "dhiman2026audio",
    },
)


def published_table() -> pd.DataFrame:
    """The published numbers as a table (one row per model and split)."""
    return pd.DataFrame(PUBLISHED)
