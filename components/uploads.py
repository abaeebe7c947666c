"""Browser uploads made safe to load and private to the session that made them.

A model upload is a skops file, a zipped MLflow model directory, or (only when the operator allows it)
a pickle/joblib file, judged by content, never by extension. Zips are extracted member by member with no
absolute paths, no `..`, no links and a bound on the total size, so an upload can neither escape its folder
nor fill the disk. Whether a stored model may run code when loaded is decided later, by the core
(`modelgap.sources.codecheck`): an upload is never a trusted origin.

Each session stores its uploads in its own folder, `config.upload_root()/<random token>/<sha256>/`, lists
them in its session state (`state.session_uploads`) and is the only one that may use them (`check_path`):
the upload root is never one of the allowed server folders, so no other session sees, lists or opens them.
`sweep` (run on every upload, and now and then) deletes the folders of sessions that ended and every upload
older than the caches' TTL. Messages name the file the user uploaded, never the server path (`shown`).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import re
import shutil
import stat
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath

from components import state
from components.cache import RESULT_TTL_S
from components.config import PICKLE_UPLOADS_ENV, check_allowed_path, is_upload, pickle_uploads_allowed, upload_root
from components.state import Upload
from modelgap.errors import DataError, SourceError, UntrustedModelError

ZIP_MAGIC = b"PK\x03\x04"
PARQUET_MAGIC = b"PAR1"
MAX_ZIP_MEMBERS = 10_000
MAX_UNZIPPED_BYTES = 1 << 30  # 1 GiB in total once extracted
# First bytes of a pickle (protocol 2+) and of joblib's compressed pickles (zlib, gzip, bz2, xz, lzma, lz4).
PICKLE_HEADS = (
    b"\x80",
    b"x\x01",
    b"x\x5e",
    b"x\x9c",
    b"x\xda",
    b"\x1f\x8b",
    b"BZh",
    b"\xfd7zXZ",
    b"]\x00\x00",
    b'\x04"M\x18',
)
UPLOAD_TTL_S = RESULT_TTL_S  # an upload lives no longer than the cached models made from it
SWEEP_EVERY_S = 60
OWNER_FILE = ".owner"  # the Streamlit session id of the folder's session (never shown)
LINK_PREFIX = "upload:"
_TOKEN = re.compile(r"^[0-9a-f]{32}$")
_SWEEP_LOCK = threading.Lock()
_last_sweep = 0.0


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def classify_model_bytes(data: bytes, name: str = "upload") -> str:
    """'skops', 'mlflow-zip' or 'pickle', judged by content; SourceError for anything else."""
    if not data:
        raise SourceError(f"The upload {name} is empty (0 bytes).", "Upload the model file again.")
    if data.startswith(ZIP_MAGIC):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                names = zf.namelist()
        except zipfile.BadZipFile as exc:
            raise SourceError(f"The upload {name} is a damaged zip file ({exc}).", "Zip the model again.") from exc
        if any(PurePosixPath(n).name == "MLmodel" for n in names):
            return "mlflow-zip"
        if "schema.json" in names:
            return "skops"
        raise SourceError(
            f"The zip upload {name} is neither an MLflow model (no MLmodel file) nor a skops file.",
            "Zip the MLflow model directory (the one with MLmodel), or upload a .skops file.",
        )
    if data.startswith(PICKLE_HEADS):
        return "pickle"
    raise SourceError(
        f"The upload {name} is not a model format modelgap can read safely.",
        "Upload a .skops file or a zipped MLflow model directory.",
    )


def safe_name(name: str, default: str) -> str:
    """The uploaded file's name reduced to letters, digits, `._-` (for a file name and the page's address)."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", PurePosixPath(name.replace("\\", "/")).stem).strip("._")[:60]
    return stem or default


def store_model_upload(data: bytes, name: str, folder: Path) -> str:
    """Check and store an uploaded model in `folder`; return the local source string to load (file or directory)."""
    kind = classify_model_bytes(data, name)
    if kind == "pickle" and not pickle_uploads_allowed():
        raise UntrustedModelError(
            f"The upload {name} is a pickle/joblib file: loading one runs any code it contains, so this server "
            "refuses pickle uploads.",
            f"Upload a .skops file or a zipped MLflow model, or ask the operator to set {PICKLE_UPLOADS_ENV}=1.",
        )
    target = folder / sha256_bytes(data)
    if kind == "mlflow-zip":
        if not (target / "model").exists():
            _publish(target, lambda tmp: _extract_mlflow_zip(data, tmp / "model", name))
        _touch(target)
        return str(_model_dir(target / "model"))
    filename = safe_name(name, "model") + (".skops" if kind == "skops" else ".pkl")
    if not (target / filename).exists():
        _publish(target, lambda tmp: (tmp / filename).write_bytes(data))
    _touch(target)
    return str(target / filename)


def store_data_upload(data: bytes, name: str, folder: Path) -> str:
    """Store an uploaded CSV/Parquet file (format by content) in `folder`; return its path."""
    if not data:
        raise DataError(f"The upload {name} is empty (0 bytes).", "Upload the data file again.")
    if b"\x00" in data[:4096] and not data.startswith(PARQUET_MAGIC):
        raise DataError(f"The upload {name} is neither CSV nor Parquet (it looks binary).", "Upload CSV or Parquet.")
    filename = safe_name(name, "data") + (".parquet" if data.startswith(PARQUET_MAGIC) else ".csv")
    target = folder / sha256_bytes(data)
    if not (target / filename).exists():
        _publish(target, lambda tmp: (tmp / filename).write_bytes(data))
    _touch(target)
    return str(target / filename)


def _touch(path: Path) -> None:
    """Uploaded again: the TTL counts from now."""
    with contextlib.suppress(OSError):
        path.touch(exist_ok=True)


def _publish(folder: Path, write: Callable[[Path], object]) -> None:
    """Write into a temporary sibling, then rename it into place: readers never see half an upload."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=".incoming-"))
    try:
        write(tmp)
        if folder.exists():  # the same bytes were stored before (under another name): merge what is missing
            for child in tmp.iterdir():
                if not (folder / child.name).exists():
                    child.rename(folder / child.name)
        else:
            tmp.rename(folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _safe_member_path(member: zipfile.ZipInfo, dest: Path) -> Path | None:
    """Where a zip member may be written, or None for a directory entry; SourceError for unsafe names."""
    name = member.filename.replace("\\", "/")
    parts = PurePosixPath(name).parts
    is_link = stat.S_ISLNK(member.external_attr >> 16)
    if name.startswith("/") or (parts and ":" in parts[0]) or ".." in parts or is_link:
        raise SourceError(
            f"The zip upload has an unsafe entry {member.filename!r} (absolute path, '..' or a link).",
            "Zip the MLflow model directory again with plain relative paths.",
        )
    if member.is_dir() or not parts:
        return None
    return dest.joinpath(*parts)


def _extract_mlflow_zip(data: bytes, dest: Path, name: str) -> None:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        members = zf.infolist()
        if len(members) > MAX_ZIP_MEMBERS:
            raise SourceError(f"The zip upload {name} has {len(members)} entries.", "Zip only the model directory.")
        if sum(m.file_size for m in members) > MAX_UNZIPPED_BYTES:
            raise SourceError(f"The zip upload {name} unpacks to more than 1 GiB.", "Zip only the model directory.")
        written = 0
        for member in members:
            target = _safe_member_path(member, dest)
            if target is None:
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(member) as src, target.open("wb") as out:
                for block in iter(lambda src=src: src.read(1 << 20), b""):  # type: ignore[misc]
                    written += len(block)
                    if written > MAX_UNZIPPED_BYTES:  # sizes in the zip's directory can lie
                        raise SourceError(
                            f"The zip upload {name} unpacks to more than 1 GiB.", "Zip only the model directory."
                        )
                    out.write(block)


def _model_dir(extracted: Path) -> Path:
    """The folder holding MLmodel: the zip's root, or its single top-level folder."""
    if (extracted / "MLmodel").is_file():
        return extracted
    candidates = sorted(p.parent for p in extracted.rglob("MLmodel") if p.is_file())
    if len(candidates) != 1:
        raise SourceError(
            f"The zip upload holds {len(candidates)} MLflow models.", "Zip exactly one MLflow model directory."
        )
    return candidates[0]


# ------------------------------------------------------------------ one private folder per session


def session_folder(token: str, owner: str = "") -> Path:
    """The upload folder named `token` (made if missing), recording `owner`, the Streamlit session it serves."""
    if not _TOKEN.match(token):
        raise ValueError(f"not an upload folder token: {token!r}")
    folder = upload_root() / token
    folder.mkdir(exist_ok=True)
    owner_file = folder / OWNER_FILE
    if not owner_file.exists():
        owner_file.write_text(owner)
    return folder


def streamlit_session_id() -> str:
    """The running Streamlit session's id ("" outside a script run); kept server-side, never shown."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx(suppress_warning=True)
    return str(ctx.session_id) if ctx is not None else ""


def session_alive(session_id: str) -> bool | None:
    """Is this Streamlit session still open: connected, or disconnected but kept for a reconnect? None: unknown.

    Streamlit has no public API for this. The session manager behind `Runtime` knows both kinds of session
    (`get_session_info`; `Runtime.is_active_session` forgets the ones waiting for a reconnect, whose state
    would come back without its uploads). This is the only use of Streamlit internals in modelgap;
    tests/test_app_security.py and tests/test_browser_security.py pin it.
    """
    from streamlit import runtime

    if not session_id or not runtime.exists():
        return None
    manager = getattr(runtime.get_instance(), "_session_mgr", None)
    get_info = getattr(manager, "get_session_info", None)
    if not callable(get_info):
        return None  # AppTest's stand-in runtime, or a Streamlit that changed: fall back to the TTL
    try:
        return get_info(session_id) is not None
    except Exception:  # noqa: BLE001 - a changed internal must not break uploads; the TTL still applies
        return None


def current_folder() -> Path:
    """This session's private upload folder."""
    return session_folder(state.upload_token(), streamlit_session_id())


def sweep(
    *, now: float | None = None, ttl: float = UPLOAD_TTL_S, alive: Callable[[str], bool | None] = session_alive
) -> list[Path]:
    """Delete the folders of sessions that ended, and every upload older than `ttl`; return what was deleted."""
    global _last_sweep
    now = time.time() if now is None else now
    removed: list[Path] = []
    with _SWEEP_LOCK:
        _last_sweep = now
        for folder in sorted(upload_root().iterdir()):
            if not folder.is_dir():
                continue
            try:
                owner = (folder / OWNER_FILE).read_text().strip()
            except OSError:
                owner = ""
            if owner and alive(owner) is False:
                shutil.rmtree(folder, ignore_errors=True)
                removed.append(folder)
                continue
            for child in list(folder.iterdir()):
                if child.name != OWNER_FILE and _age(child, now) > ttl:
                    shutil.rmtree(child, ignore_errors=True)
                    removed.append(child)
            if not any(c.name != OWNER_FILE for c in folder.iterdir()) and _age(folder / OWNER_FILE, now) > ttl:
                shutil.rmtree(folder, ignore_errors=True)
                removed.append(folder)
    return removed


def sweep_now_and_then() -> None:
    """A sweep at most once a minute (each rerun calls this), so ended sessions' uploads go without a new upload."""
    if time.time() - _last_sweep >= SWEEP_EVERY_S:
        sweep()


def _age(path: Path, now: float) -> float:
    try:
        return now - path.stat().st_mtime
    except OSError:
        return 0.0


def accept_model_upload(data: bytes, name: str) -> str:
    """Store a model the user uploaded in this session's folder and list it in this session only."""
    sweep()
    path = store_model_upload(data, name, current_folder())
    state.add_upload(Upload(path=path, name=name, kind="model", link=_link(data, name, "model")))
    return path


def accept_data_upload(data: bytes, name: str) -> str:
    """Store a data file the user uploaded in this session's folder and list it in this session only."""
    sweep()
    path = store_data_upload(data, name, current_folder())
    state.add_upload(Upload(path=path, name=name, kind="data", link=_link(data, name, "data")))
    return path


def _link(data: bytes, name: str, default: str) -> str:
    return f"{LINK_PREFIX}{sha256_bytes(data)[:12]}/{safe_name(name, default)}{PurePosixPath(name).suffix[:12]}"


# ------------------------------------------------------------------ who may use an upload, and how it is named


def owns(path: str | Path) -> bool:
    """Is `path` in this session's upload folder?"""
    folder = (upload_root() / state.upload_token()).resolve()
    resolved = Path(path).expanduser().resolve()
    return resolved == folder or folder in resolved.parents


def display_name(path: str | Path) -> str | None:
    """The name the user gave the upload at `path` (this session's only), else None."""
    text = str(path)
    for upload in reversed(state.session_uploads()):
        if text == upload.path or text.startswith(upload.path.rstrip("/") + "/"):
            return upload.name
    return None


def check_path(path: str, what: str) -> Path:
    """A local path the comparison may read: this session's own upload, else a file in an allowed folder.

    Another session's upload (by its path or its `upload:` link) is refused, even when an allowed folder
    holds the upload folder; so is one of this session's uploads that the sweep already removed.
    """
    text = path.strip()
    if text.startswith(LINK_PREFIX):
        name = text[len(LINK_PREFIX) :].partition("/")[2] or text
        raise SourceError(
            f"{what} is a file uploaded in another session, or one no longer kept ({name}): uploads are private "
            f"to the session that made them and kept for at most {UPLOAD_TTL_S // 60} minutes.",
            "Upload the file again here.",
        )
    resolved = Path(text).expanduser().resolve()
    if not is_upload(resolved):
        return check_allowed_path(text, what)
    if not owns(resolved):
        raise SourceError(
            f"{what} is a file uploaded in another session: uploads are private to the session that made them.",
            "Upload the file again here.",
        )
    if not resolved.exists():
        raise SourceError(
            f"{what} ({display_name(text) or resolved.name}) is no longer kept: uploads are removed when their "
            f"session ends or after {UPLOAD_TTL_S // 60} minutes.",
            "Upload the file again.",
        )
    return resolved


def shown(text: str) -> str:
    """`text` with this session's upload paths replaced by the names the user uploaded, and any other path in
    the upload folder by "an uploaded file": messages never show where the server keeps uploads."""
    if not text:
        return text
    for upload in sorted(state.session_uploads(), key=lambda u: len(u.path), reverse=True):
        text = text.replace(upload.path, f"{upload.name} (uploaded)")
    root = str(upload_root())
    return re.sub(re.escape(root) + r"[^\s'\"(),;]*", "an uploaded file", text)
