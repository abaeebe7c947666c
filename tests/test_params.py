"""The parameter, schema and environment diff on real model pairs with known differences.

Each expected difference is computed here from the two models' own get_params(deep=True) (set algebra on
the tests' reference flattening), and also stated literally, so neither side can drift unnoticed.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from factories import fitted, pipeline, reference_params, save_mlflow, save_skops, tabular

from modelgap.comparison import CompareOptions, Comparison
from modelgap.model import FeatureSpec, LoadedModel, ModelMetadata
from modelgap.params import compare_parameters, diff_mappings, values_equal
from modelgap.sources import load_model
from modelgap.summary import MAX_PARAMETER_LINES, parameter_lines


def _reference_diff(repo: Any, deployed: Any) -> tuple[set[str], set[str], set[str]]:
    """(changed, only_in_repo, only_in_deployed) names, from get_params alone."""
    a, b = reference_params(repo), reference_params(deployed)

    def same(x: Any, y: Any) -> bool:
        if isinstance(x, float) or isinstance(y, float):
            return isinstance(x, (int, float)) and isinstance(y, (int, float)) and math.isclose(x, y)
        return bool(x == y)

    changed = {k for k in a.keys() & b.keys() if not same(a[k], b[k])}
    return changed, set(a) - set(b), set(b) - set(a)


def _names(entries: list[dict[str, Any]]) -> set[str]:
    return {e["name"] for e in entries}


def _check_against_reference(repo_model: Any, deployed_model: Any, diff: dict[str, Any]) -> None:
    changed, only_repo, only_deployed = _reference_diff(repo_model, deployed_model)
    assert _names(diff["changed"]) == changed
    assert _names(diff["only_in_repo"]) == only_repo
    assert _names(diff["only_in_deployed"]) == only_deployed
    a, b = reference_params(repo_model), reference_params(deployed_model)
    for entry in diff["changed"]:
        assert values_equal(entry["repo"], a[entry["name"]]) and values_equal(entry["deployed"], b[entry["name"]])
    for entry in diff["only_in_repo"]:
        assert values_equal(entry["value"], a[entry["name"]])
    assert diff["identical"] is False


@pytest.fixture(scope="module")
def pairs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Real fitted pipelines, saved as MLflow directories (signatures carry the schema)."""
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import MinMaxScaler, OneHotEncoder, StandardScaler

    root = tmp_path_factory.mktemp("param-pairs")
    df, y = tabular()
    base, _, _ = fitted("pipeline")
    retuned, _, _ = fitted("pipeline", model__learning_rate=0.05, model__n_estimators=40)
    rescaled = pipeline().set_params(pre__num=MinMaxScaler()).fit(df, y)
    wider_df = df.assign(x4=df["x1"] * 3 - df["x2"], x3=df["x3"].astype(float))
    pre = ColumnTransformer(
        [
            ("num", StandardScaler(), ["x1", "x2", "x3", "x4"]),
            ("cat", OneHotEncoder(handle_unknown="ignore", sparse_output=False), ["cat"]),
        ]
    )
    wider = pipeline().set_params(pre=pre).fit(wider_df, y)
    models = {"base": (base, df), "retuned": (retuned, df), "rescaled": (rescaled, df), "wider": (wider, wider_df)}
    out: dict[str, Any] = {}
    for name, (model, data) in models.items():
        out[name] = (model, save_mlflow(model, root / name, data))
    return out


def _compare(pairs: dict[str, Any], repo: str, deployed: str) -> Any:
    return compare_parameters(load_model(str(pairs[repo][1])), load_model(str(pairs[deployed][1])))


def test_retuned_learning_rate_and_trees(pairs: dict[str, Any]) -> None:
    diff = _compare(pairs, "retuned", "base")
    out = diff.to_dict()
    _check_against_reference(pairs["retuned"][0], pairs["base"][0], out)
    assert {c["name"]: (c["repo"], c["deployed"]) for c in out["changed"]} == {
        "model__learning_rate": (0.05, 0.1),
        "model__n_estimators": (40, 30),
    }
    assert out["only_in_repo"] == out["only_in_deployed"] == []
    assert diff.pipeline.identical
    assert diff.schema.identical
    assert diff.environment.identical
    assert diff.same_artifact is False


def test_changed_scaler_step(pairs: dict[str, Any]) -> None:
    diff = _compare(pairs, "rescaled", "base")
    out = diff.to_dict()
    _check_against_reference(pairs["rescaled"][0], pairs["base"][0], out)
    assert _names(out["changed"]) == {"pre__num", "pre__transformers"}
    assert _names(out["only_in_repo"]) == {"pre__num__clip", "pre__num__feature_range"}
    assert _names(out["only_in_deployed"]) == {"pre__num__with_mean", "pre__num__with_std"}
    changed = {c["name"]: c for c in out["changed"]}
    assert (changed["pre__num"]["repo"], changed["pre__num"]["deployed"]) == ("MinMaxScaler", "StandardScaler")
    # The step swap is structural: it lands in the pipeline group, not among plain hyperparameters.
    assert _names(diff.pipeline.changed) == {"pre__num", "pre__transformers"}
    assert diff.hyperparameters.changed == []
    assert diff.schema.identical


def test_added_input_column(pairs: dict[str, Any]) -> None:
    diff = _compare(pairs, "wider", "base")
    out = diff.to_dict()
    _check_against_reference(pairs["wider"][0], pairs["base"][0], out)
    assert _names(out["changed"]) == {"pre__transformers"}
    [entry] = out["changed"]
    assert entry["repo"][0] == ["num", "StandardScaler", ["x1", "x2", "x3", "x4"]]
    assert entry["deployed"][0] == ["num", "StandardScaler", ["x1", "x2", "x3"]]
    assert {"path": "[0][2]", "repo": ["x1", "x2", "x3", "x4"], "deployed": ["x1", "x2", "x3"]} in entry["details"]
    schema = diff.schema
    assert schema.only_in_repo == ["x4"]
    assert schema.only_in_deployed == []
    assert schema.dtype_changes == [{"column": "x3", "repo": "number", "deployed": "integer"}]
    assert schema.order_changed is False


def test_environment_diff_from_model_files(pairs: dict[str, Any], tmp_path: Path) -> None:
    base = pairs["base"][1]
    older = Path(shutil.copytree(base, tmp_path / "older"))
    (older / "requirements.txt").write_text("mlflow==3.17.2\nscikit-learn\nnumpy==1.26.4\n")
    mlmodel = yaml.safe_load((older / "MLmodel").read_text())
    mlmodel["flavors"]["python_function"]["python_version"] = "3.10.14"
    (older / "MLmodel").write_text(yaml.safe_dump(mlmodel))

    diff = compare_parameters(load_model(str(base)), load_model(str(older)))
    assert diff.hyperparameters.identical and diff.pipeline.identical
    changed = {c["name"]: (c["repo"], c["deployed"]) for c in diff.environment.changed}
    current_python = yaml.safe_load((base / "MLmodel").read_text())["flavors"]["python_function"]["python_version"]
    assert changed == {"python": (current_python, "3.10.14")}
    assert diff.environment.only_in_deployed == [{"name": "numpy", "value": "1.26.4"}]
    assert diff.same_artifact is False  # requirements.txt is part of the artifact


# --- type-aware equality --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "equal"),
    [
        (1, 1.0, True),
        (0.1, 0.1 + 1e-13, True),
        (0.1, 0.1000001, False),
        (None, "None", False),
        (None, None, True),
        (True, 1, False),
        (False, 0.0, False),
        ("NaN", "NaN", True),
        ([1, 2.0], [1.0, 2], True),
        ([1, 2], [1, 2, 3], False),
        ({"a": 1, "b": [1, 2]}, {"b": [1, 2.0], "a": 1.0}, True),
        ({"a": 1}, {"a": 1, "b": 2}, False),
        ("1", 1, False),
    ],
)
def test_values_equal(a: Any, b: Any, equal: bool) -> None:
    assert values_equal(a, b) is equal
    assert values_equal(b, a) is equal


def test_nested_dict_and_list_diffs_name_the_path() -> None:
    diff = diff_mappings(
        {"class_weight": {"0": 1, "1": 2}, "layers": [8, 4], "same": None, "gone": 1},
        {"class_weight": {"0": 1, "1": 3}, "layers": [8, 5], "same": None, "new": "x"},
    )
    changed = {c["name"]: c for c in diff.changed}
    assert set(changed) == {"class_weight", "layers"}
    assert changed["class_weight"]["details"] == [{"path": "1", "repo": 2, "deployed": 3}]
    assert changed["layers"]["details"] == [{"path": "[1]", "repo": 4, "deployed": 5}]
    assert diff.only_in_repo == [{"name": "gone", "value": 1}]
    assert diff.only_in_deployed == [{"name": "new", "value": "x"}]
    assert diff.unchanged == [{"name": "same", "value": None}]


def test_int_and_float_alpha_are_the_same_parameter(tmp_path: Path) -> None:
    from sklearn.linear_model import Ridge

    _, X, y = fitted("ridge", "regression")
    a = save_skops(Ridge(alpha=1).fit(X, y), tmp_path / "a.skops")
    b = save_skops(Ridge(alpha=1.0).fit(X, y), tmp_path / "b.skops")
    c = save_skops(Ridge(alpha=1.0000001).fit(X, y), tmp_path / "c.skops")
    assert compare_parameters(load_model(str(a)), load_model(str(b))).identical
    diff = compare_parameters(load_model(str(a)), load_model(str(c))).to_dict()
    assert [(e["name"], e["repo"], e["deployed"]) for e in diff["changed"]] == [("alpha", 1, 1.0000001)]


def test_lightgbm_class_weight_nested_diff(tmp_path: Path) -> None:
    a, _, _ = fitted("lightgbm", "binary", class_weight={0: 1, 1: 2})
    b, _, _ = fitted("lightgbm", "binary", class_weight={0: 1, 1: 3})
    diff = compare_parameters(
        load_model(str(save_skops(a, tmp_path / "a.skops"))), load_model(str(save_skops(b, tmp_path / "b.skops")))
    ).to_dict()
    [entry] = diff["changed"]
    assert entry["name"] == "class_weight"
    assert entry["details"] == [{"path": "1", "repo": 2, "deployed": 3}]


# --- xgboost's own format does not record training params -----------------------------------------------


def test_xgboost_native_format_reports_unknown_not_identical(tmp_path: Path) -> None:
    """Same model via skops and via MLflow's xgboost flavor: nothing changed, but what the file lacks is unknown."""
    shallow, X, _ = fitted("xgboost", "binary")
    deep, _, _ = fitted("xgboost", "binary", max_depth=5)
    skops_shallow = load_model(str(save_skops(shallow, tmp_path / "shallow.skops")))
    mlflow_shallow = load_model(str(save_mlflow(shallow, tmp_path / "shallow", X)))
    mlflow_deep = load_model(str(save_mlflow(deep, tmp_path / "deep", X)))

    same = compare_parameters(skops_shallow, mlflow_shallow).to_dict()
    assert same["changed"] == same["only_in_repo"] == same["only_in_deployed"] == []
    unknown = {e["name"]: e for e in same["unknown"]}
    assert unknown["max_depth"] == {"name": "max_depth", "repo": 3, "deployed": None, "unknown_in": ["deployed"]}
    assert same["identical"] is False
    comparison = Comparison(
        skops_shallow, mlflow_shallow, CompareOptions(), compare_parameters(skops_shallow, mlflow_shallow)
    )
    text = "\n".join(parameter_lines(comparison))
    assert f"? {len(unknown)} not recorded in a model file (unknown)" in text
    assert "identical" not in text

    # Two different trees, both from xgboost's format: never claimed identical.
    different = compare_parameters(mlflow_deep, mlflow_shallow)
    assert not different.identical
    assert "max_depth" in _names(different.to_dict()["unknown"])


def _regressor_with(params: dict[str, Any] | None) -> LoadedModel:
    """A one-column model whose hyperparameters are `params` (None: unknown, like a bare endpoint)."""
    return LoadedModel(
        source="x",
        task="regression",
        classes=[],
        features=[FeatureSpec("a", "number")],
        params=params,
        metadata=ModelMetadata(),
        labels_fn=lambda df: df["a"].to_numpy(),
    )


def test_unknown_hyperparameters_of_a_black_box() -> None:
    """A side with params=None (an endpoint) makes the diff unknown, not identical."""

    diff = compare_parameters(_regressor_with({"alpha": 1.0}), _regressor_with(None))
    out = diff.to_dict()
    assert out["known"] is False
    assert out["identical"] is False
    assert out["changed"] == []
    assert diff.same_artifact is None


def test_terminal_summary_caps_long_parameter_lists() -> None:
    """Hundreds of renamed params list the first MAX_PARAMETER_LINES and say how many more, never silently."""

    repo = _regressor_with({f"step{i}__alpha": i for i in range(40)})
    deployed = _regressor_with({f"step{i}__alpha": i + 1 for i in range(40)} | {"old__beta": 1})
    diff = compare_parameters(repo, deployed)
    assert len(diff.to_dict()["changed"]) == 40  # the diff itself is complete
    comparison = Comparison(repo=repo, deployed=deployed, options=CompareOptions(), parameters=diff)
    lines = parameter_lines(comparison)
    listed = [line for line in lines if line.startswith(("  ~ ", "  + ", "  - "))]
    assert len(listed) == MAX_PARAMETER_LINES
    assert f"  ... {41 - MAX_PARAMETER_LINES} more (all of them in --json / --html)" in lines
