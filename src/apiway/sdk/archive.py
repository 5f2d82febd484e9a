"""An SDK's files as a zip archive (entries in path order with a fixed timestamp, so the same deployment
gives the same bytes), and back into a folder."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path, PurePosixPath

_STAMP = (2015, 7, 9, 0, 0, 0)  # fixed (the apigateway API version's date): zip holds no dates before 1980


def zipped(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(files):
            entry = zipfile.ZipInfo(path, _STAMP)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            archive.writestr(entry, files[path])
    return buffer.getvalue()


class UnsafeArchive(ValueError):
    pass


def unpack(data: bytes, out: Path) -> list[Path]:
    """An SDK archive's files written under `out`, its one top folder (`apiGateway-js-sdk/`) left out; the
    files written. An entry that would land outside `out` refuses the whole archive before anything is
    written."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        entries = [e for e in archive.infolist() if not e.is_dir()]
        tops = {e.filename.split("/", 1)[0] for e in entries}
        strip = len(tops) == 1 and all("/" in e.filename for e in entries)
        targets = []
        for entry in entries:
            name = entry.filename.split("/", 1)[1] if strip else entry.filename
            parts = PurePosixPath(name).parts
            if not parts or name.startswith("/") or "\\" in name or any(p in ("..", "") for p in parts):
                raise UnsafeArchive(f"the archive holds an unsafe path: {entry.filename!r}")
            targets.append((entry, out.joinpath(*parts)))
        for entry, target in targets:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(archive.read(entry))
    return [target for _, target in targets]
