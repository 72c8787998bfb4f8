"""Preference data: the formats people have (:mod:`.formats`), synthetic verifiable tasks (:mod:`.synthetic`), and
the resumable labelled sampling (:mod:`.sampling`) behind rejective sampling (:mod:`.rejective`) and Meta RM data
(:mod:`.meta`)."""

from .formats import (
    FORMATS,
    LabeledInput,
    LoadReport,
    chosen_position,
    detect_format,
    load_preference_data,
    to_listwise,
)
from .synthetic import FAMILIES, SyntheticTasks, verify

__all__ = [
    "FAMILIES",
    "FORMATS",
    "LabeledInput",
    "LoadReport",
    "SyntheticTasks",
    "chosen_position",
    "detect_format",
    "load_preference_data",
    "to_listwise",
    "verify",
]
