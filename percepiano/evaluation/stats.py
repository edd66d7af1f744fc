"""Statistics for honest comparisons, in one namespace for the chapters.

* ``units``: what each split generalises over, and so what its bootstrap resamples;
* ``bootstrap``: one-way and two-way (pigeonhole, Owen 2007) bootstrap intervals with their
  Monte Carlo error;
* ``small_g``: intervals that hold with few units (the jackknife t interval) and the floors of
  the tests there;
* ``comparison``: paired differences, corrected t-tests, Holm's correction, borderline verdicts
  (the A/B framework); ``permutation``: the paired permutation test;
* ``verdicts``: sentences generated from the numbers.
"""

from percepiano.evaluation.bootstrap import (  # noqa: F401
    FAST,
    LEVEL,
    METRICS,
    N_RESAMPLES,
    WITHIN,
    cluster_bootstrap_ci,
)
from percepiano.evaluation.comparison import (  # noqa: F401
    ESCALATE,
    Z_MC,
    by_config,
    compare,
    compare_each,
    corrected_ttest,
    holm,
    mark,
    paired_difference,
    summarise,
)
from percepiano.evaluation.permutation import paired_permutation_test  # noqa: F401
from percepiano.evaluation.units import (  # noqa: F401
    describe_design,
    describe_units,
    units,
    units_by_kind,
)
from percepiano.evaluation.verdicts import BORDERLINE, join_items, tally, verdict  # noqa: F401
