"""Copies of one recording are joined, transitively, into one group."""

import numpy as np
import pandas as pd

from percepiano.data import recordings
from tests.data.test_duplicates import _performance


def test_recording_groups_join_copies_and_with_contained_the_cuts(tmp_path):
    rng = np.random.default_rng(0)
    take = [(int(p), int(v), 0.3) for p, v in zip(rng.integers(40, 90, 60),
                                                   rng.integers(30, 110, 60), strict=True)]
    louder = [(p, min(v + 9, 127), d) for p, v, d in take]  # the same notes, another take
    slip = take[:30] + [(take[30][0], take[30][1] + 1, 0.3)] + take[31:]  # one velocity apart
    files = {"P_8bars_1_1": take, "P_8bars_1_2": take, "P_8bars_1_3": slip,
             "P_4bars_1_4": take[5:35], "P_8bars_2_1": louder}
    segments = pd.DataFrame({"midi_path": {n: _performance(tmp_path / f"{n}.mid", notes)
                                           for n, notes in files.items()}}).rename_axis("name")
    same = recordings.recording_groups(segments)
    assert same.to_dict() == {"P_4bars_1_4": "P_4bars_1_4", "P_8bars_1_1": "P_8bars_1_1",
                              "P_8bars_1_2": "P_8bars_1_1", "P_8bars_1_3": "P_8bars_1_1",
                              "P_8bars_2_1": "P_8bars_2_1"}
    cut = recordings.recording_groups(segments, by="contained")  # the cut joins its take
    assert set(cut[["P_8bars_1_1", "P_8bars_1_2", "P_8bars_1_3"]]) == {"P_4bars_1_4"}
    assert cut["P_8bars_2_1"] == "P_8bars_2_1" and cut.index.name == "name"
