"""The measuring stick, defined before and apart from any model: metrics (``metrics``), the
cross-validation harness that takes any ``fit_predict`` (``cross_validation``) and the human noise
ceiling from the raw ratings (``ceiling``)."""
