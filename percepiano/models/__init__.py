"""What predicts the 19 dimensions: the Audio Spectrogram Transformer (``ast``), tree ensembles on
descriptors (``forest``) and baselines that never hear a note (``identity``)."""
