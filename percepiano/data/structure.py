"""Structure of the labels: how much variance lies between groups, and how dimensions co-vary.

The share of a dimension's variance that lies between groups (excerpts, performers, pieces) is
the variance of the group means, each weighted by its size, over the total variance: the ANOVA
ratio eta² = SS_between / SS_total, the square of Fisher's correlation ratio. It is the in-sample
R² of predicting every segment by its group's mean, so a share of 0.4 between excerpts says that
knowing *which music* is played explains 40 % of the label variance before anything is heard of
*how* it is played.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.decomposition import PCA


def between_share(values: pd.DataFrame, groups: pd.Series) -> pd.Series:
    """Per column of ``values``: SS between group means / total SS (in [0, 1]).

    ``groups`` is indexed like ``values`` (one group id per row). Columns with no variance give
    NaN. A row without a group is an error, never silently dropped.
    """
    groups = groups.reindex(values.index)
    if groups.isna().any():
        missing = list(groups.index[groups.isna()][:3])
        raise ValueError(f"no group for rows {missing}; give every row of values a group id")
    centred = values - values.mean()
    group_means = centred.groupby(groups).transform("mean")
    total = (centred ** 2).sum()
    between = (group_means ** 2).sum()
    return (between / total.where(total > 0)).rename("between_share")


def principal_shares(values: pd.DataFrame) -> np.ndarray:
    """Share of the total variance of the standardised columns along each principal component."""
    z = (values - values.mean()) / values.std(ddof=0)
    return PCA().fit(z.to_numpy()).explained_variance_ratio_


def correlation_pairs(values: pd.DataFrame) -> pd.DataFrame:
    """Every pair of columns with its Pearson r, strongest |r| first (columns a, b, r)."""
    corr = values.corr()
    cols = list(corr.columns)
    rows = [(cols[i], cols[j], corr.iloc[i, j]) for i in range(len(cols))
            for j in range(i + 1, len(cols))]
    out = pd.DataFrame(rows, columns=["a", "b", "r"])
    return out.reindex(out["r"].abs().sort_values(ascending=False).index).reset_index(drop=True)
