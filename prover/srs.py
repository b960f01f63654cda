"""The structured reference string (KZG SRS): a ceremony file by path, or a generated dev one.

Usage::

    from prover.srs import srs_path, is_dev_srs
    path = srs_path(11)          # kzg11.srs from VERINFER_SRS_DIR, or a generated dev SRS
    if is_dev_srs(): print(DEV_SRS_WARNING)
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import ezkl

from prover.errors import SrsError
from verinfer.settings import Settings, get_settings

DEV_SRS_WARNING = (
    "WARNING: using a locally generated KZG SRS. It is for development only: whoever generates "
    "an SRS knows its secret and can forge proofs. Production must load a ceremony SRS by path "
    "(set VERINFER_SRS_DIR to a folder of kzg{k}.srs files, and VERINFER_SRS_SHA256)."
)


def check_srs_policy(settings: Settings | None = None) -> None:
    """In production mode, refuse a dev SRS and a ceremony folder whose files are not pinned.

    Whoever generated an SRS can forge proofs, and an unpinned folder is only as trustworthy as
    whoever last wrote to it; production therefore starts only with hash-pinned ceremony files.
    """
    s = settings or get_settings()
    if not s.production:
        return
    if s.srs_dir is None:
        raise SrsError(
            "VERINFER_PRODUCTION is set but no ceremony SRS is configured: a generated SRS lets "
            "its maker forge proofs. Set VERINFER_SRS_DIR and VERINFER_SRS_SHA256"
        )
    if not parse_expected_hashes(s.srs_sha256):
        raise SrsError(
            f"VERINFER_PRODUCTION is set but the SRS files in {s.srs_dir} are not pinned; set "
            'VERINFER_SRS_SHA256="k=<sha256>,…" for every kzg{k}.srs you use'
        )


def srs_file_name(logrows: int) -> str:
    """The file name EZKL's ceremony SRS files use: ``kzg{k}.srs``."""
    return f"kzg{logrows}.srs"


def is_dev_srs(settings: Settings | None = None) -> bool:
    """True when no ceremony SRS folder is configured, so a generated dev SRS is used."""
    return (settings or get_settings()).srs_dir is None


def srs_path(logrows: int, settings: Settings | None = None, *, create: bool = True) -> Path:
    """Path of the SRS for 2**logrows rows: checked ceremony file, or a (cached) dev SRS.

    With ``create=False`` a missing dev SRS is an error instead of a new one (verifiers must
    never make the SRS they check against).
    """
    s = settings or get_settings()
    if s.srs_dir is not None:
        return _ceremony_srs(s.srs_dir, logrows, s.srs_sha256, s.production)
    path = s.data_dir / "srs" / srs_file_name(logrows)
    if not create and not path.is_file():
        raise SrsError(f"no SRS for k={logrows} at {path}; it is made when the model is prepared")
    return _dev_srs(path.parent, logrows)


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def parse_expected_hashes(spec: str | None) -> dict[int, str]:
    """Parse ``"10=hex,11=hex"`` into ``{10: "hex", 11: "hex"}``."""
    if not spec:
        return {}
    out: dict[int, str] = {}
    for part in spec.split(","):
        k, sep, digest = part.strip().partition("=")
        if not sep or not k.strip().isdigit():
            raise SrsError(f"VERINFER_SRS_SHA256 entry {part!r} is not of the form k=sha256hex")
        out[int(k)] = digest.strip().lower().removeprefix("0x")
    return out


def _ceremony_srs(folder: Path, logrows: int, expected: str | None, production: bool) -> Path:
    path = folder / srs_file_name(logrows)
    if not path.is_file():
        raise SrsError(
            f"ceremony SRS {path} not found; put the kzg{logrows}.srs file of a trusted "
            f"ceremony in {folder}, or unset VERINFER_SRS_DIR to use a dev SRS"
        )
    want = parse_expected_hashes(expected).get(logrows)
    if want is None and production:
        raise SrsError(
            f"VERINFER_PRODUCTION is set but VERINFER_SRS_SHA256 pins no hash for k={logrows}; "
            f"add {logrows}=<sha256 of {path.name}>"
        )
    if want is not None:
        got = file_sha256(path)
        if got != want:
            raise SrsError(
                f"SRS {path} has sha256 {got}, but VERINFER_SRS_SHA256 expects {want} for "
                f"k={logrows}; the file is not the ceremony SRS — fetch it again"
            )
    return path


def _dev_srs(folder: Path, logrows: int) -> Path:
    path = folder / srs_file_name(logrows)
    if path.is_file():
        return path
    folder.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    try:
        ezkl.gen_srs(srs_path=str(tmp), logrows=logrows)
    except RuntimeError as e:
        raise SrsError(f"could not generate a dev SRS for k={logrows} in {folder}: {e}") from e
    tmp.replace(path)  # atomic: a concurrent reader never sees half a file
    return path
