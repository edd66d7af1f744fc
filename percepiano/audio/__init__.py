"""From MIDI to what a listener hears: FluidSynth rendering (``render``), log-mel spectrograms
(``spectrogram``) and augmentation (``augment``)."""
