"""The Retraining page's pieces: re-run both models' recipes on demand, in the background, and show the result.

Retraining takes minutes, so it never runs on its own: the "Re-run training" button starts a job in a
background thread (the core's `retrain`, which uses up to two worker processes). The job lives in a bounded
`st.cache_resource` slot keyed by a short hash of the comparison, both models' fingerprints, both training
sets' fingerprints and the settings, so every session asking for the same thing shares one run and its
result. An `st.fragment` polls the job once a second to draw `st.status` progress and a Cancel button (a
`threading.Event` the core checks between refits). Training commands come only from the operator's
modelgap.toml, never from the browser. Session state keeps only the key of the last job (for the Overview).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import logging
import threading
from dataclasses import dataclass, field
from typing import Any

import streamlit as st

from components import cards, compute, state
from components.cache import RESULT_TTL_S, Slot
from modelgap.comparison import Comparison
from modelgap.data import DataComparison
from modelgap.errors import ModelgapError
from modelgap.figures.retraining import noise_band_figure
from modelgap.redact import log_exception, redact
from modelgap.retraining import RetrainingResult, RetrainOptions, from_policy
from modelgap.retraining.options import DEFAULT_MAX_ROWS, MAX_SEEDS
from modelgap.values import one_line

LOG = logging.getLogger("modelgap.app")
JOB_ENTRIES = 8
JOB_TTL_S = RESULT_TTL_S
POLL_S = 1.0
THREAD_PREFIX = "modelgap-retraining-"
PAGE = "retraining"
SEEDS_KEY = f"modelgap.widget.{PAGE}.seeds"  # = state.setting_widget_key(PAGE, "seeds", ...)
ROWS_KEY = f"modelgap.widget.{PAGE}.max_rows"
RUN_KEY = "modelgap.retraining.run"
CANCEL_KEY = "modelgap.retraining.cancel"
CHART_KEY = "modelgap.retraining.chart"
_LAST = "modelgap.retraining.last"  # {"spec": spec key, "job": job key}: what the Overview may show
STATUS_STYLE = {  # status -> (words for a manager, icon)
    "reproduced": ("Reproduced", ":material/check_circle:"),
    "within_noise": ("Within retraining noise", ":material/check_circle:"),
    "differs": ("Differs from its recipe", ":material/warning:"),
    "not_retrainable": ("Not retrainable", ":material/help:"),
}


@dataclass
class Job:
    """One retraining run: progress written by its thread, read by the page."""

    key: str
    cancel: threading.Event = field(default_factory=threading.Event)
    message: str = "Starting"
    fraction: float = 0.0
    log: list[str] = field(default_factory=list)
    result: RetrainingResult | None = None
    error: str | None = None
    thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    def update(self, message: str, fraction: float) -> None:
        self.message, self.fraction = message, min(max(float(fraction), 0.0), 1.0)
        if "refits done" in message:
            self.log.append(message.removeprefix("Retraining: "))


@st.cache_resource(max_entries=JOB_ENTRIES, ttl=JOB_TTL_S, show_spinner=False)
def _job_slot(key: str) -> Slot:
    """The app's one cache slot (`components.cache`); its value is the Job, replaced by each new run."""
    return Slot()


def _job(key: str) -> Job | None:
    job = _job_slot(key).value
    return job if isinstance(job, Job) else None


def policy_options() -> RetrainOptions:
    """Seeds, row bound and training commands from the operator's modelgap.toml (defaults without one)."""
    return from_policy(None)


def training_fingerprints(comparison: Comparison) -> list[str]:
    """Per side: the training file found for it (size/mtime) and its recorded digest, as the data section saw."""
    data = comparison.sections.data
    out = []
    for side in ("repo", "deployed"):
        lineage = data.lineage.get(side) if isinstance(data, DataComparison) else None
        ref = lineage.training if lineage is not None else None
        path = ref.readable_path if ref is not None else None
        out.append(f"{path}:{compute.fingerprint(path)}:{ref.digest if ref else ''}")
    return out


def job_key(comparison: Comparison, spec: state.ComparisonSpec, options: RetrainOptions) -> str:
    """A short string naming what a retraining result depends on (a cache key, never an object id)."""
    parts = [compute.comparison_key(spec), comparison.repo.fingerprint, comparison.deployed.fingerprint]
    parts += [*training_fingerprints(comparison), options.key()]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:24]


def _work(job: Job, comparison: Comparison, options: RetrainOptions) -> None:
    from modelgap.retraining import retrain

    try:
        job.result = retrain(comparison, options, progress=job.update, cancel=job.cancel)
    except ModelgapError as err:
        job.error = err.one_line()
    except Exception as exc:  # noqa: BLE001 - shown on the page, logged without credentials; the app goes on
        log_exception(LOG, "Retraining failed")
        job.error = redact(f"Unexpected {type(exc).__name__}: {one_line(exc)}")


def start(key: str, comparison: Comparison, options: RetrainOptions) -> Job:
    """The running job for `key`, or a new one started in a background thread."""
    slot = _job_slot(key)
    with slot.lock:
        running = slot.value
        if isinstance(running, Job) and running.running:
            return running
        job = Job(key=key)
        job.thread = threading.Thread(
            target=_work, args=(job, comparison, options), name=f"{THREAD_PREFIX}{key[:8]}", daemon=True
        )
        slot.value = job
        job.thread.start()
    return job


def current_options(base: RetrainOptions) -> RetrainOptions:
    """`base` with this session's Retraining-page settings (kept across pages), when it set any."""
    seeds = state.page_setting(PAGE, "seeds", max(2, min(base.seeds, MAX_SEEDS)))
    max_rows = state.page_setting(PAGE, "max_rows", base.max_rows)
    return dataclasses.replace(base, seeds=int(seeds), max_rows=int(max_rows))


def settings(base: RetrainOptions) -> RetrainOptions:
    """The two numbers a user may change; commands stay the operator's."""
    seeds_key = state.setting_widget_key(PAGE, "seeds", max(2, min(base.seeds, MAX_SEEDS)))
    rows_key = state.setting_widget_key(PAGE, "max_rows", base.max_rows or DEFAULT_MAX_ROWS)
    left, right = st.columns(2)
    with left:
        seeds = st.number_input(
            "Seeds for the noise floor",
            min_value=2,
            max_value=MAX_SEEDS,
            step=1,
            key=seeds_key,
            help="How many times one recipe is refitted with a different seed to measure retraining noise.",
        )
    with right:
        max_rows = st.number_input(
            "Training rows per refit",
            min_value=100,
            step=10_000,
            key=rows_key,
            help="Larger training sets are refitted on a seeded uniform sample of this many rows (said so).",
        )
    state.set_page_setting(PAGE, "seeds", int(seeds))
    state.set_page_setting(PAGE, "max_rows", int(max_rows))
    return dataclasses.replace(base, seeds=int(seeds), max_rows=int(max_rows))


def commands_caption(options: RetrainOptions) -> None:
    shown = [f"{side}: `{cmd}`" for side in ("repo", "deployed") if (cmd := options.command(side))]
    if shown:
        st.caption("Training commands from modelgap.toml (instead of refitting): " + "; ".join(shown))


def render(comparison: Comparison, spec: state.ComparisonSpec) -> None:
    """Settings, the run button, progress while it runs, the result once done."""
    try:
        base = policy_options()
    except ModelgapError as err:
        st.error(err.one_line(), icon=":material/error:")
        return
    options = settings(base)
    commands_caption(options)
    key = job_key(comparison, spec, options)
    job = _job(key)
    running = job is not None and job.running
    clicked = st.button(
        "Re-run training", key=RUN_KEY, type="primary", icon=":material/model_training:", disabled=running
    )
    if clicked:
        job = start(key, comparison, options)
    if job is None:
        st.info(
            "Nothing has been retrained for this comparison yet. Re-running training refits both models and "
            f"{options.seeds} seeded copies of one recipe; it takes minutes, not seconds.",
            icon=":material/info:",
        )
        return
    st.session_state[_LAST] = {"spec": spec.key(), "job": key}
    if job.running:
        progress(key)
    elif job.error:
        st.error(f"Retraining failed: {job.error}", icon=":material/error:")
    elif job.result is not None:
        result_view(job.result.to_dict())


@st.fragment(run_every=POLL_S)
def progress(key: str) -> None:
    """st.status with the progress of the running job and a Cancel button; reruns the page once it ends."""
    job = _job(key)
    if job is None:
        return
    if not job.running:
        st.rerun()
    with st.status(f"Re-running training: {job.message}", expanded=True, state="running"):
        st.progress(job.fraction, text=job.message)
        for line in job.log[-10:]:
            st.write(line)
        if job.cancel.is_set():
            st.write("Cancelling: the refits already running finish first.")
        elif st.button("Cancel", key=CANCEL_KEY, icon=":material/cancel:"):
            job.cancel.set()
            st.write("Cancelling: the refits already running finish first.")


def result_view(d: dict[str, Any]) -> None:
    """Both sides' status and reason, the noise floor, the excess and the picture."""
    if d.get("cancelled"):
        st.warning("Cancelled: what had not finished is reported as not retrainable.", icon=":material/cancel:")
    cols = st.columns(2)
    for col, side in zip(cols, ("deployed", "repo"), strict=True):
        s = d.get(side) or {}
        words, icon = STATUS_STYLE.get(str(s.get("status")), (str(s.get("status")), ":material/help:"))
        with col:
            st.metric(f"{side.title()} model", words, help=f"Method: {s.get('method')}.", border=True)
            st.caption(f"{icon} {s.get('reason', '')}")
    noise = d.get("noise") or {}
    n_cols = st.columns(3)
    with n_cols[0]:
        cards.metric_card(
            "Retraining noise",
            cards.percent(noise.get("disagreement_rate"), 2),
            "Mean share of rows on which two refits of the same recipe, differing only by their seed, disagree.",
            delta=f"{noise.get('seeds', 0)} seeds, {noise.get('side') or 'no'} recipe",
        )
    with n_cols[1]:
        cards.metric_card(
            "Repo vs deployed",
            cards.percent(d.get("repo_vs_deployed_rate"), 2),
            "Share of the sample rows on which the repo and the deployed model disagree.",
        )
    with n_cols[2]:
        excess = d.get("excess")
        cards.metric_card(
            "Beyond noise",
            f"{excess:.3g}×" if isinstance(excess, (int, float)) else "—",
            "Repo-vs-deployed disagreement divided by the retraining noise: how many times more the repo model "
            "differs than retraining alone would make it differ (none when retraining has no noise).",
        )
    figure = noise_band_figure(d)
    if figure is not None:
        st.plotly_chart(figure, key=CHART_KEY, config={"displaylogo": False})
    lines = [f"{side}: {n}" for side in ("deployed", "repo") for n in (d.get(side) or {}).get("notes") or []]
    lines += [str(n) for n in d.get("notes") or []]
    if noise.get("reason"):
        lines.append(f"noise: {noise['reason']}")
    if lines:
        with st.expander(f"Notes ({len(lines)})", icon=":material/sticky_note_2:"):
            for line in lines:
                st.markdown(f"- {line}")


def overview_status(comparison: Comparison) -> None:
    """On the Overview: one line with the retraining result, once a run for this comparison has finished."""
    spec = state.current_spec()
    if spec is None:
        return
    last = st.session_state.get(_LAST)
    keys = [str(last["job"])] if isinstance(last, dict) and last.get("spec") == spec.key() else []
    # the run with this session's settings (the policy's in a fresh session), shared by every session; a bad
    # policy file is reported on the Retraining page
    with contextlib.suppress(ModelgapError):
        keys.append(job_key(comparison, spec, current_options(policy_options())))
    jobs = [_job(key) for key in dict.fromkeys(keys)]
    job = next((j for j in jobs if j is not None and not j.running and j.result is not None), None)
    if job is None or job.result is None:
        return
    d = job.result.to_dict()
    words = [
        f"{side} model {STATUS_STYLE.get(d[side]['status'], ('?', ''))[0].lower()}" for side in ("deployed", "repo")
    ]
    excess = d.get("excess")
    tail = f"; the repo model differs {excess:.3g}× more than retraining noise" if excess is not None else ""
    st.markdown(f"**Retraining:** {', '.join(words)}{tail}.")
    st.page_link(
        "pages/retraining.py", label="Retraining", icon=":material/arrow_forward:", query_params=state.share_params()
    )
