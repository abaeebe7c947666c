"""Re-run training: rebuild each model from its recorded recipe and measure the retraining noise floor.

`retrain(comparison, RetrainOptions())` refits each model's estimator (a `sklearn.base.clone`) on its training
data as modelgap finds it, or runs a training command from the policy file; compares the result with the model
on the sample rows; refits one recipe with N seeds for the noise floor; and says per side whether the model is
`reproduced`, `within_noise`, `differs` or `not_retrainable`, with a reason. `build_retraining` is the
comparison's `retraining` section (only with `CompareOptions.retrain`).

The options and result types import nothing heavy (the CLI's parser and the policy loader use them); the
rest loads on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from modelgap.retraining.options import RetrainOptions, from_policy, validate_retrain_table, with_cli
from modelgap.retraining.result import STATUSES, NoiseFloor, RetrainingResult, SideRetraining

if TYPE_CHECKING:
    from modelgap.retraining.run import retrain
    from modelgap.retraining.section import build_retraining

__all__ = [
    "STATUSES",
    "NoiseFloor",
    "RetrainOptions",
    "RetrainingResult",
    "SideRetraining",
    "build_retraining",
    "from_policy",
    "retrain",
    "validate_retrain_table",
    "with_cli",
]


def __getattr__(name: str) -> Any:
    if name == "retrain":
        from modelgap.retraining.run import retrain

        return retrain
    if name == "build_retraining":
        from modelgap.retraining.section import build_retraining

        return build_retraining
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
