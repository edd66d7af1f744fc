"""The PercePiano data: locate, fetch and verify it, its quirks and the locked final exam
(``dataset``), which excerpts share music or recordings (``music``, ``duplicates``),
cross-validation folds that respect them (``splits``), the structure of the 19 labels
(``structure``) and published results on it (``published``)."""
