"""Perceptual evaluation of piano performance on PercePiano.

The sub-packages follow the data flow, each importing only from those before it:

    data -> audio -> features -> evaluation -> models -> training -> analysis -> experiments -> cli

``config``, ``errors`` and ``io`` are run-wide and import nothing else of the package; ``plots``
(figures shared by the chapters) reads the data layer's dimension names only.
"""
