"""Both models of a comparison explained with both cores: `explain_pair`.

When both models are explained by shap's TreeExplainer here (the path that uses a helper process), their rows
form one work list (`worklist.run_jobs`): the second core helps across the pair, so the end of the repo model's
rows overlaps the start of the deployed model's and one probe decides for both, which lets a pair whose models
are each too small to split (sklearn GradientBoosting at 10k rows: ~0.4 s each) use both cores. Any other pair
is explained one model after the other, exactly as `explain` does. The values are those of two `explain` calls.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pandas as pd

from modelgap.explanations.engine import ExplainSettings, Prepared, finish, prepare
from modelgap.explanations.parallel import cpu_sample
from modelgap.explanations.result import Explanation, ProgressCallback, StopCallback
from modelgap.explanations.worklist import Job, run_jobs
from modelgap.model import LoadedModel

Checked = Callable[[int, Explanation], None]  # called with each model's explanation, in order; may raise


def explain_pair(
    models: Sequence[LoadedModel],
    X: pd.DataFrame,
    *,
    output: str,
    background: pd.DataFrame | None,
    progress: Sequence[ProgressCallback | None] = (None, None),
    should_stop: Sequence[StopCallback | None] = (None, None),
    settings: ExplainSettings | None = None,
    exclude: Sequence[str] = (),
    check: Checked | None = None,
) -> list[Explanation]:
    """SHAP values of each model on rows X, as `explain` gives them, with each model's progress and stop.

    A model's should_stop is first asked when its turn begins (its first chunk), then between its chunks, so a
    time budget counted from that first call is the model's own. `check(i, explanation)` sees each result in
    order before the next model starts (when the models run one after the other) and may raise to end the work.
    """
    settings = settings or ExplainSettings()
    since = cpu_sample()  # the busy measure spans the preparation too (our own CPU is not counted)
    done: list[Explanation] = []

    def prepared(i: int) -> Prepared:
        return prepare(models[i], X, output=output, background=background, settings=settings, exclude=exclude)

    def record(i: int, exp: Explanation) -> None:
        if check is not None:
            check(i, exp)
        done.append(exp)

    first = prepared(0)
    second = prepared(1) if _shares(first, settings) else None
    if second is not None and _shares(second, settings):
        pair = (first, second)
        jobs = []
        for i, p in enumerate(pair):
            assert p.job is not None
            jobs.append(Job(p.job.fn, p.job.rows, p.job.size, progress[i], should_stop[i], p.job.ahead))
        results = run_jobs(jobs, settings.workers, since)
        for i, (p, res) in enumerate(zip(pair, results, strict=True)):
            assert p.finish_job is not None
            record(i, finish(p, p.finish_job(res)))
        return done
    record(0, finish(first, first.run(progress[0], should_stop[0])))
    second = second or prepared(1)
    record(1, finish(second, second.run(progress[1], should_stop[1])))
    return done


def _shares(prepared: Prepared, settings: ExplainSettings) -> bool:
    """Whether the model's rows may go on a shared work list: exact Tree SHAP that uses a helper process."""
    return prepared.job is not None and prepared.job.split == "processes" and settings.workers != 1
