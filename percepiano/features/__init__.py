"""Handcrafted descriptors of each segment: from the MIDI (``midi``) and from the rendered audio
(``audio``), cached as tables (``cache``)."""
