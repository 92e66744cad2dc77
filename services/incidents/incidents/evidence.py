"""Evidence files (photos, videos): check an upload, read what it says about itself, thumbnail it.

Plain data in and out; no Flask, no database. The storage backends are in
`evidence_store.py` and re-exported here, so callers import everything from this module.

- The type comes from the content (`filetype`, leading bytes), never from the name. A name
  or declared type claiming an image or a video that the content contradicts is refused.
- The stream is read once, in chunks, into a spooled temporary file while hashing
  (SHA-256); reading stops as soon as the size limit of the detected kind is passed.
- Images must open and decode with Pillow (truncated or corrupt files are refused); their
  EXIF GPS position and DateTimeOriginal are read when present. JPEGs are decoded at 1/8
  scale for the check (libjpeg DCT scaling), so a large photo costs little memory.
"""
from __future__ import annotations

import hashlib
import math
import mimetypes
import os
import tempfile
from dataclasses import dataclass
from datetime import datetime
from io import BytesIO
from typing import IO, Mapping

import filetype
from PIL import ExifTags, Image, ImageOps

from .evidence_store import EvidenceMissing, EvidenceStore, LocalStore, S3Store, store_from_env  # noqa: F401

ALLOWED_TYPES: dict[str, str] = {
    "image/jpeg": "image",
    "image/png": "image",
    "image/webp": "image",
    "image/heic": "image",  # detected by filetype; decoded only when pillow-heif is installed
    "video/mp4": "video",
    "video/quicktime": "video",
}
MAX_IMAGE_BYTES = 15 * 1024 * 1024
MAX_VIDEO_BYTES = 200 * 1024 * 1024
MAX_IMAGE_PIXELS = 64_000_000  # 8000 x 8000; a 50-megapixel phone photo fits
CHUNK = 64 * 1024
HEAD = 8192  # what filetype looks at
SPOOL_BYTES = 1024 * 1024  # content above this goes to a temporary file on disk

_PIL_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP", "image/heic": "HEIF"}
_EXTENSION_KINDS = {".heic": "image", ".heif": "image", ".mov": "video", ".qt": "video"}
_ARTICLE = {"image": "an image", "video": "a video"}
_ACCEPTED = "JPEG, PNG, WebP or HEIC photos and MP4 or QuickTime videos"


class EvidenceRejected(Exception):
    """An upload refused: `status` 413 (too large) or 422, `reason` for people, `field`."""

    def __init__(self, status: int, reason: str, field: str = "file"):
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.field = field


@dataclass(frozen=True)
class Inspected:
    """What an accepted upload is. `file` holds the content (positioned at 0); close it when done.

    `width`/`height` are as displayed (EXIF orientation applied); None for videos and for
    HEIC when pillow-heif is not installed. `exif_taken_at` is EXIF DateTimeOriginal as a
    naive ISO string (camera local time, no zone). The EXIF position is as written by the
    camera (WGS-84 by the EXIF standard); (0, 0) is treated as absent.
    """

    sha256: str
    size: int
    mime: str
    kind: str
    width: int | None
    height: int | None
    exif_lon: float | None
    exif_lat: float | None
    exif_taken_at: str | None
    file: IO[bytes]

    @property
    def thumbnailable(self) -> bool:
        return self.kind == "image" and self.width is not None

    def close(self) -> None:
        self.file.close()

    def __enter__(self) -> Inspected:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def limits_from_env(env: Mapping[str, str] | None = None) -> tuple[int, int]:
    """(max image bytes, max video bytes) from EVIDENCE_MAX_IMAGE_BYTES / EVIDENCE_MAX_VIDEO_BYTES."""
    env = os.environ if env is None else env
    limits = []
    for name, default in (("EVIDENCE_MAX_IMAGE_BYTES", MAX_IMAGE_BYTES), ("EVIDENCE_MAX_VIDEO_BYTES", MAX_VIDEO_BYTES)):
        raw = (env.get(name) or "").strip()
        if not raw:
            limits.append(default)
            continue
        if not raw.isdigit() or int(raw) <= 0:
            raise ValueError(f"{name} must be a positive number of bytes, not {raw!r}")
        limits.append(int(raw))
    return limits[0], limits[1]


def inspect(stream: IO[bytes], declared_name: str | None, declared_type: str | None, *,
            max_image_bytes: int | None = None, max_video_bytes: int | None = None,
            temp_dir: str | os.PathLike | None = None) -> Inspected:
    """Read `stream` once, check it, and return what it is (or raise EvidenceRejected).

    Limits left as None come from the environment (`limits_from_env`), else the defaults.
    """
    if max_image_bytes is None or max_video_bytes is None:
        env_image, env_video = limits_from_env()
        max_image_bytes = env_image if max_image_bytes is None else max_image_bytes
        max_video_bytes = env_video if max_video_bytes is None else max_video_bytes
    limits = {"image": max_image_bytes, "video": max_video_bytes}
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES, dir=temp_dir)
    try:
        head = _read_head(stream)
        if not head:
            raise EvidenceRejected(422, "the file is empty")
        mime, kind = _classify(head, declared_name, declared_type)
        limit = limits[kind]
        digest = hashlib.sha256()
        size = 0
        chunk = head
        while chunk:
            size += len(chunk)
            if size > limit:
                raise EvidenceRejected(413, f"{_ARTICLE[kind]} may be at most {_human(limit)}; this one is larger")
            digest.update(chunk)
            spool.write(chunk)
            chunk = stream.read(min(CHUNK, limit - size + 1))  # never more than one byte past the limit
        spool.seek(0)
        width = height = lon = lat = taken = None
        if kind == "image":
            width, height, lon, lat, taken = _examine_image(spool, mime)
            spool.seek(0)
        return Inspected(digest.hexdigest(), size, mime, kind, width, height, lon, lat, taken, spool)
    except BaseException:
        spool.close()
        raise


def make_thumbnail(source: str | os.PathLike | IO[bytes], max_side: int = 320, *, quality: int = 80) -> bytes:
    """A JPEG no larger than `max_side` on either side, upright (EXIF orientation applied), RGB.

    Raises PIL's UnidentifiedImageError/OSError for what Pillow cannot decode (HEIC without
    pillow-heif): check `Inspected.thumbnailable` first.
    """
    _enable_heif()
    if hasattr(source, "seek"):
        source.seek(0)
    with Image.open(source) as im:
        if im.format == "JPEG":
            im.draft(None, (max_side, max_side))  # decode at the smallest DCT scale still >= max_side
        upright = ImageOps.exif_transpose(im)
    if upright.mode in ("RGBA", "LA", "PA") or (upright.mode == "P" and "transparency" in upright.info):
        rgba = upright.convert("RGBA")
        upright = Image.new("RGB", rgba.size, (255, 255, 255))
        upright.paste(rgba, mask=rgba.getchannel("A"))
    elif upright.mode != "RGB":
        upright = upright.convert("RGB")
    upright.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    out = BytesIO()
    upright.save(out, "JPEG", quality=quality, optimize=True)
    return out.getvalue()


def gps_to_decimal(dms, ref, *, positive: str, negative: str, bound: float) -> float | None:
    """EXIF degrees/minutes/seconds rationals and a N/S or E/W reference → signed degrees, or None."""
    try:
        parts = [float(v) for v in dms]
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    if not 1 <= len(parts) <= 3 or any(not math.isfinite(p) or p < 0 for p in parts):
        return None
    parts += [0.0] * (3 - len(parts))
    value = parts[0] + parts[1] / 60 + parts[2] / 3600
    if isinstance(ref, bytes):
        ref = ref.decode("ascii", "ignore")
    ref = ref.strip("\x00 ").upper() if isinstance(ref, str) else ""
    if ref == negative:
        value = -value
    elif ref != positive:
        return None
    return value if abs(value) <= bound else None


# --- internals ---------------------------------------------------------------------------

def _read_head(stream: IO[bytes]) -> bytes:
    buf = bytearray()
    while len(buf) < HEAD:
        chunk = stream.read(HEAD - len(buf))
        if not chunk:
            break
        buf += chunk
    return bytes(buf)


def _classify(head: bytes, declared_name: str | None, declared_type: str | None) -> tuple[str, str]:
    guess = filetype.guess(head)
    mime = guess.mime if guess else None
    kind = ALLOWED_TYPES.get(mime)
    for claim, source in ((_kind_of_type(declared_type), "declared type"), (_kind_of_name(declared_name), "file name")):
        if claim and claim != kind:
            what = f"content is {mime}" if mime else "content is of no recognised format"
            raise EvidenceRejected(422, f"{what}, not {_ARTICLE[claim]} as its {source} claims")
    if kind is None:
        what = f"content is {mime}" if mime else "content is of no recognised format"
        raise EvidenceRejected(422, f"{what}; accepted are {_ACCEPTED}")
    return mime, kind


def _kind_of_type(declared_type: str | None) -> str | None:
    major = (declared_type or "").split(";")[0].strip().lower().split("/")[0]
    return major if major in ("image", "video") else None


def _kind_of_name(declared_name: str | None) -> str | None:
    ext = os.path.splitext((declared_name or "").strip())[1].lower()
    if not ext:
        return None
    if ext in _EXTENSION_KINDS:
        return _EXTENSION_KINDS[ext]
    return _kind_of_type(mimetypes.guess_type("x" + ext)[0])


def _examine_image(file: IO[bytes], mime: str):
    if mime == "image/heic" and not _enable_heif():
        return None, None, None, None, None  # accepted on its signature alone
    try:
        with Image.open(file, formats=[_PIL_FORMATS[mime]]) as im:
            width, height = im.size
            if width * height > MAX_IMAGE_PIXELS:
                raise EvidenceRejected(
                    422, f"the image has {width}×{height} pixels; at most {MAX_IMAGE_PIXELS:,} are accepted")
            if im.format == "JPEG":
                im.draft(None, (max(1, width // 8), max(1, height // 8)))
            im.load()  # decodes everything: a truncated or corrupt file fails here
            exif = im.getexif()
    except EvidenceRejected:
        raise
    except Exception as exc:  # Pillow raises many kinds on hostile input
        raise EvidenceRejected(422, f"the image cannot be decoded (damaged or incomplete): {exc}") from None
    if exif.get(ExifTags.Base.Orientation) in (5, 6, 7, 8):
        width, height = height, width
    lon, lat = _exif_position(exif)
    return width, height, lon, lat, _exif_taken_at(exif)


def _exif_position(exif: Image.Exif) -> tuple[float | None, float | None]:
    try:
        gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    except Exception:
        return None, None
    lat = gps_to_decimal(gps.get(ExifTags.GPS.GPSLatitude), gps.get(ExifTags.GPS.GPSLatitudeRef),
                         positive="N", negative="S", bound=90)
    lon = gps_to_decimal(gps.get(ExifTags.GPS.GPSLongitude), gps.get(ExifTags.GPS.GPSLongitudeRef),
                         positive="E", negative="W", bound=180)
    if lat is None or lon is None or (lat == 0 and lon == 0):
        return None, None
    return lon, lat


def _exif_taken_at(exif: Image.Exif) -> str | None:
    try:
        raw = exif.get_ifd(ExifTags.IFD.Exif).get(ExifTags.Base.DateTimeOriginal)
        if isinstance(raw, bytes):
            raw = raw.decode("ascii")
        return datetime.strptime(raw.strip("\x00 "), "%Y:%m:%d %H:%M:%S").isoformat()
    except Exception:
        return None


_heif = None


def _enable_heif() -> bool:
    """Register pillow-heif's opener once if it is installed; True when HEIC can be decoded."""
    global _heif
    if _heif is None:
        try:
            import pillow_heif
            pillow_heif.register_heif_opener()
            _heif = True
        except ImportError:
            _heif = False
    return _heif


def _human(n: int) -> str:
    return f"{n / 1024 / 1024:g} MiB" if n >= 1024 * 1024 else f"{n:,} bytes"
