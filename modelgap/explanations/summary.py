"""Terminal lines for the explanations section (the CLI's stdout)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from modelgap.explanations.compare import ExplanationComparison


def summary_lines(c: ExplanationComparison, top_n: int = 8) -> list[str]:
    what = f"output: {c.output}"
    if c.class_label is not None:
        what += f", class {c.class_label!r}"
    lines = [
        f"Explanations (SHAP on {c.n_rows} rows, {what})",
        f"  methods: repo {c.method['repo']}; deployed {c.method['deployed']}",
    ]
    rho = "n/a" if c.rank_correlation is None else f"{c.rank_correlation:.2f}"
    shared = round(c.top_k_overlap * c.top_k)
    lines.append(f"  rank correlation (Spearman) {rho}; top-{c.top_k} overlap {shared}/{c.top_k}")
    lines.append(f"  {'feature':<24} {'repo':>10} {'deployed':>10}  rank (deployed -> repo)")
    for name, r in c.features.head(top_n).iterrows():
        flip = "  sign flips" if r["sign_flip"] else ""
        lines.append(
            f"  {str(name)[:24]:<24} {r['repo_importance']:>10.4g} {r['deployed_importance']:>10.4g}"
            f"  {int(r['deployed_rank'])} -> {int(r['repo_rank'])}{flip}"
        )
    if len(c.features) > top_n:
        lines.append(f"  ... {len(c.features) - top_n} more features")
    if c.sign_flips:
        lines.append(f"  effect direction flips for: {', '.join(c.sign_flips)}")
    for side, add in c.additivity.items():
        if add.failed:
            lines.append(
                f"  WARNING {side}: SHAP values do not add up to the model output "
                f"(max error {add.max_error:.3g} > tolerance {add.tolerance:.3g})"
            )
    lines += [f"  note: {n}" for n in c.notes]
    return lines
