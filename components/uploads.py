"""Browser uploads made safe to load: judged by content (never the extension), stored by content hash.

A model upload is a skops file, a zipped MLflow model directory, or (only when the operator allows it)
a pickle/joblib file. Zips are extracted member by member with no absolute paths, no `..`, no links and a
bound on the total size, so an upload can neither escape its folder nor fill the disk.
Uploads live in one private folder per server process (`config.upload_root()`), under their SHA-256:
two users uploading the same bytes share one copy, and nobody can reach an upload without its content.
"""

from __future__ import annotations

import hashlib
import io
import shutil
import stat
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath

from components.config import PICKLE_UPLOADS_ENV, pickle_uploads_allowed, upload_root
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


def store_model_upload(data: bytes, name: str) -> str:
    """Check and store an uploaded model; return the local source string to load (a file or a directory)."""
    kind = classify_model_bytes(data, name)
    if kind == "pickle" and not pickle_uploads_allowed():
        raise UntrustedModelError(
            f"The upload {name} is a pickle/joblib file: loading one runs any code it contains, so this server "
            "refuses pickle uploads.",
            f"Upload a .skops file or a zipped MLflow model, or ask the operator to set {PICKLE_UPLOADS_ENV}=1.",
        )
    folder = upload_root() / sha256_bytes(data)
    if kind == "mlflow-zip":
        target = folder / "model"
        if not target.exists():
            _publish(folder, lambda tmp: _extract_mlflow_zip(data, tmp / "model", name))
        return str(_model_dir(target))
    filename = "model.skops" if kind == "skops" else "model.pkl"
    if not (folder / filename).exists():
        _publish(folder, lambda tmp: (tmp / filename).write_bytes(data))
    return str(folder / filename)


def store_data_upload(data: bytes, name: str) -> str:
    """Store an uploaded CSV/Parquet file (format by content); return its path."""
    if not data:
        raise DataError(f"The upload {name} is empty (0 bytes).", "Upload the data file again.")
    if b"\x00" in data[:4096] and not data.startswith(PARQUET_MAGIC):
        raise DataError(f"The upload {name} is neither CSV nor Parquet (it looks binary).", "Upload CSV or Parquet.")
    filename = "data.parquet" if data.startswith(PARQUET_MAGIC) else "data.csv"
    folder = upload_root() / sha256_bytes(data)
    if not (folder / filename).exists():
        _publish(folder, lambda tmp: (tmp / filename).write_bytes(data))
    return str(folder / filename)


def _publish(folder: Path, write: Callable[[Path], object]) -> None:
    """Write into a temporary sibling, then rename it into place: readers never see half an upload."""
    tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=".incoming-"))
    try:
        write(tmp)
        if folder.exists():  # another session stored the same bytes meanwhile: merge what is missing
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
