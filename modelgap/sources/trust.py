"""What a skops file may contain before we load it: an allow-list kept in code, never `trusted=True`."""

from __future__ import annotations

import importlib
from pathlib import Path

from modelgap.errors import SourceError, UntrustedModelError

# Whole modules whose estimator classes are trusted: the estimators this tool compares.
TRUSTED_MODULE_PREFIXES: tuple[str, ...] = (
    "sklearn.",
    "xgboost.sklearn.",
    "lightgbm.sklearn.",
)

# Individual types outside those modules that fitted estimators routinely carry.
TRUSTED_TYPES: frozenset[str] = frozenset(
    {
        "numpy.dtype",
        "collections.OrderedDict",
        "collections.defaultdict",
        "xgboost.core.Booster",
        "lightgbm.basic.Booster",
        "builtins.slice",
        "numpy.float64",
        "numpy.float32",
        "numpy.int64",
        "numpy.int32",
    }
)


def is_trusted_type(name: str) -> bool:
    """On the allow-list: listed by name, or defined (not merely imported) in a trusted module.

    A prefix match alone is not enough: `sklearn.datasets._base.makedirs` is `os.makedirs` re-exported,
    so the object the name resolves to must itself live in a trusted module.
    """
    if name in TRUSTED_TYPES:
        return True
    if not name.startswith(TRUSTED_MODULE_PREFIXES):
        return False
    module_name, _, attr = name.rpartition(".")
    try:
        obj = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError, ValueError):
        return False  # skops could not resolve it either
    home = getattr(obj, "__module__", None)
    return isinstance(home, str) and (home + ".").startswith(TRUSTED_MODULE_PREFIXES)


def trusted_types_for(path: Path) -> list[str]:
    """The types in `path` that skops does not trust by default, all of them on our allow-list.

    Raises UntrustedModelError naming the offending types otherwise.
    """
    import skops.io as sio

    try:
        found = list(sio.get_untrusted_types(file=path))
    except Exception as exc:
        raise SourceError(
            f"{path} is not a readable skops file ({type(exc).__name__}: {exc}).",
            "Check that the file is complete and was written with skops.io.dump.",
        ) from exc
    offending = sorted(t for t in found if not is_trusted_type(t))
    if offending:
        raise UntrustedModelError(
            f"{path} contains types outside modelgap's allow-list: {', '.join(offending)}.",
            "Loading them could run untrusted code; save the model with sklearn/xgboost/lightgbm types only.",
        )
    return found
