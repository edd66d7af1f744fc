"""The two ends of each 1-7 scale, as the raters saw them, and readable dimension names."""

from __future__ import annotations

from percepiano.data.dataset import CATEGORIES, SCALE_MAX

# the two ends of each 1-7 scale, as the raters saw them (1 = first, 7 = second)
POLES: dict[str, tuple[str, str]] = {
    "Timing_Stable_Unstable": ("stable", "unstable"),
    "Articulation_Short_Long": ("short", "long"),
    "Articulation_Soft_cushioned_Hard_solid": ("soft, cushioned", "hard, solid"),
    "Pedal_Sparse/dry_Saturated/wet": ("sparse, dry", "saturated, wet"),
    "Pedal_Clean_Blurred": ("clean", "blurred"),
    "Timbre_Even_Colorful": ("even", "colourful"),
    "Timbre_Shallow_Rich": ("shallow", "rich"),
    "Timbre_Bright_Dark": ("bright", "dark"),
    "Timbre_Soft_Loud": ("soft", "loud"),
    "Dynamic_Sophisticated/mellow_Raw/crude": ("sophisticated, mellow", "raw, crude"),
    "Dynamic_Little_dynamic_range_Large_dynamic_range": ("little range", "large range"),
    "Music_Making_Fast_paced_Slow_paced": ("fast-paced", "slow-paced"),
    "Music_Making_Flat_Spacious": ("flat", "spacious"),
    "Music_Making_Disproportioned_Balanced": ("disproportioned", "balanced"),
    "Music_Making_Pure_Dramatic/expressive": ("pure", "dramatic, expressive"),
    "Emotion_&_Mood_Optimistic/pleasant_Dark": ("optimistic, pleasant", "dark"),
    "Emotion_&_Mood_Low_Energy_High_Energy": ("low energy", "high energy"),
    "Emotion_&_Mood_Honest_Imaginative": ("honest", "imaginative"),
    "Interpretation_Unsatisfactory/doubtful_Convincing": ("unsatisfactory, doubtful",
                                                          "convincing"),
}


def category_label(category: str) -> str:
    """``Music_Making`` -> ``Music making``."""
    return category.replace("_", " ").capitalize()


def label(dim: str) -> str:
    """A dimension with its poles and their ratings: ``Pedal: sparse, dry (1) - saturated, wet
    (7)``."""
    low, high = POLES[dim]
    return f"{category_label(CATEGORIES[dim])}: {low} (1) - {high} ({SCALE_MAX})"
