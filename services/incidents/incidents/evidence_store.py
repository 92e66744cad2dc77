"""Where evidence files live: content-addressed by SHA-256, written once, never replaced.

One small interface, two backends:
- `LocalStore(root)`: root/ab/cd/<sha256>, thumbnails in root/thumbnails/ab/cd/<sha256>.jpg;
- `S3Store(bucket, ...)`: <prefix>ab/cd/<sha256> and <prefix>thumbnails/ab/cd/<sha256>.jpg
  on S3 or an S3-compatible service (MinIO, Ceph RGW, OSS/COS S3 endpoints).

`put` verifies that the content hashes to the name it is stored under, and returns False
when that hash is already stored (the stored bytes are left as they are). Nothing here
deletes an original. Thumbnails are derived data and may be rewritten.
"""
from __future__ import annotations

import base64
import errno
import hashlib
import os
import re
import tempfile
import threading
from abc import ABC, abstractmethod
from pathlib import Path
from typing import IO, Mapping

_SHA256 = re.compile(r"[0-9a-f]{64}")
_CHUNK = 1024 * 1024


class EvidenceMissing(LookupError):
    """No stored content (or thumbnail) under this hash."""


class EvidenceStore(ABC):
    @abstractmethod
    def put(self, sha256: str, source_file: IO[bytes], mime: str | None = None) -> bool:
        """Store `source_file` (read from its start) under its hash; False if already stored."""

    @abstractmethod
    def open(self, sha256: str) -> IO[bytes]:
        """A binary stream of the stored content; the caller closes it. EvidenceMissing if absent."""

    @abstractmethod
    def exists(self, sha256: str) -> bool: ...

    @abstractmethod
    def put_thumbnail(self, sha256: str, jpeg_bytes: bytes) -> None: ...

    @abstractmethod
    def open_thumbnail(self, sha256: str) -> IO[bytes]: ...


class LocalStore(EvidenceStore):
    """A folder. Files appear atomically (temporary file in the same folder, fsync, then
    os.link, which fails if the name exists), so readers never see a partial file and
    concurrent uploads of the same content, across threads and processes, store it once.
    Originals are read-only (0o444). A crash may leave `.incoming-*` files behind; they
    are never read and can be removed when older than a day.
    """

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def path_for(self, sha256: str) -> Path:
        _check(sha256)
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def thumbnail_path(self, sha256: str) -> Path:
        _check(sha256)
        return self.root / "thumbnails" / sha256[:2] / sha256[2:4] / f"{sha256}.jpg"

    def exists(self, sha256: str) -> bool:
        return self.path_for(sha256).is_file()

    def put(self, sha256: str, source_file: IO[bytes], mime: str | None = None) -> bool:
        final = self.path_for(sha256)
        if final.exists():
            return False
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = _write_temp(final.parent, _chunks(source_file), expect=sha256)
        try:
            os.chmod(tmp, 0o444)
            try:
                os.link(tmp, final)
            except FileExistsError:
                return False
            except OSError as exc:  # a file system without hard links: replace (same bytes, by hash)
                if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK):
                    raise
                if final.exists():
                    return False
                os.replace(tmp, final)
            _fsync_dir(final.parent)
            return True
        finally:
            tmp.unlink(missing_ok=True)

    def open(self, sha256: str) -> IO[bytes]:
        return _open_or_missing(self.path_for(sha256), sha256)

    def put_thumbnail(self, sha256: str, jpeg_bytes: bytes) -> None:
        final = self.thumbnail_path(sha256)
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = _write_temp(final.parent, [jpeg_bytes])
        try:
            os.replace(tmp, final)
        finally:
            tmp.unlink(missing_ok=True)

    def open_thumbnail(self, sha256: str) -> IO[bytes]:
        return _open_or_missing(self.thumbnail_path(sha256), sha256)


class S3Store(EvidenceStore):
    """S3 or an S3-compatible service, through boto3 (imported on first use).

    Never overwriting: `put` first asks `head_object`; if absent it writes with
    `IfNoneMatch="*"`, which S3 (since 2024-08), MinIO and Cloudflare R2 honour, so of two
    racing writers exactly one stores the object and the other gets False. A service that
    answers 501 NotImplemented to the condition (or a botocore too old to know it) gets a
    plain put from then on: the race is then only between uploads of the same bytes under
    the same hash, so stored content still never changes. `ChecksumSHA256` is sent so
    the service verifies the bytes it received (`checksum=False` for services that reject it).
    The credentials need s3:GetObject, s3:PutObject and s3:ListBucket (without ListBucket,
    HEAD of a missing key answers 403, which is raised, not read as "absent"). For
    protection from deletion outside the API, turn on bucket versioning or Object Lock.
    """

    def __init__(self, bucket: str, endpoint_url: str | None = None, prefix: str = "evidence/",
                 client=None, *, client_kwargs: Mapping[str, str] | None = None, checksum: bool = True):
        self.bucket = bucket
        self.endpoint_url = endpoint_url
        self.prefix = prefix
        self.checksum = checksum
        self.conditional = True
        self._client = client
        self._client_kwargs = dict(client_kwargs or {})
        self._lock = threading.Lock()

    @property
    def client(self):
        with self._lock:  # boto3 clients are thread-safe, their creation is not
            if self._client is None:
                import boto3
                self._client = boto3.session.Session().client("s3", endpoint_url=self.endpoint_url,
                                                              **self._client_kwargs)
            return self._client

    def key(self, sha256: str) -> str:
        _check(sha256)
        return f"{self.prefix}{sha256[:2]}/{sha256[2:4]}/{sha256}"

    def thumbnail_key(self, sha256: str) -> str:
        _check(sha256)
        return f"{self.prefix}thumbnails/{sha256[:2]}/{sha256[2:4]}/{sha256}.jpg"

    def exists(self, sha256: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self.key(sha256))
            return True
        except Exception as exc:
            if _error_code(exc) in ("404", "NoSuchKey", "NotFound"):
                return False
            raise

    def put(self, sha256: str, source_file: IO[bytes], mime: str | None = None) -> bool:
        if self.exists(sha256):
            return False
        digest = hashlib.sha256()
        for chunk in _chunks(source_file):
            digest.update(chunk)
        if digest.hexdigest() != sha256:
            raise ValueError(f"content hashes to {digest.hexdigest()}, not {sha256}")
        args = {"Bucket": self.bucket, "Key": self.key(sha256), "ContentType": mime or "application/octet-stream"}
        if self.checksum:
            args["ChecksumSHA256"] = base64.b64encode(digest.digest()).decode("ascii")
        while True:
            source_file.seek(0)
            try:
                if self.conditional:
                    self.client.put_object(Body=source_file, IfNoneMatch="*", **args)
                else:
                    self.client.put_object(Body=source_file, **args)
                return True
            except Exception as exc:
                code = _error_code(exc)
                if code in ("PreconditionFailed", "412"):
                    return False  # someone stored it first
                unsupported = code in ("NotImplemented", "501") or type(exc).__name__ == "ParamValidationError"
                if self.conditional and unsupported:
                    self.conditional = False
                    continue
                raise

    def open(self, sha256: str) -> IO[bytes]:
        return self._get(self.key(sha256), sha256)

    def put_thumbnail(self, sha256: str, jpeg_bytes: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self.thumbnail_key(sha256), Body=jpeg_bytes,
                               ContentType="image/jpeg")

    def open_thumbnail(self, sha256: str) -> IO[bytes]:
        return self._get(self.thumbnail_key(sha256), sha256)

    def _get(self, key: str, sha256: str) -> IO[bytes]:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=key)["Body"]
        except Exception as exc:
            if _error_code(exc) in ("404", "NoSuchKey", "NotFound"):
                raise EvidenceMissing(sha256) from None
            raise


def store_from_env(env: Mapping[str, str] | None = None) -> EvidenceStore:
    """EVIDENCE_STORE=local (default; EVIDENCE_DIR, else <ENVGRID_DATA_DIR or ./var>/evidence)
    or s3 (EVIDENCE_S3_BUCKET, EVIDENCE_S3_ENDPOINT, EVIDENCE_S3_PREFIX, EVIDENCE_S3_CHECKSUM=0|1,
    AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION or AWS_DEFAULT_REGION;
    credentials not given fall back to boto3's usual chain)."""
    env = os.environ if env is None else env
    kind = (env.get("EVIDENCE_STORE") or "local").strip().lower()
    if kind == "local":
        data_dir = Path(env.get("ENVGRID_DATA_DIR") or Path.cwd() / "var")
        return LocalStore(Path(env.get("EVIDENCE_DIR") or data_dir / "evidence"))
    if kind == "s3":
        bucket = (env.get("EVIDENCE_S3_BUCKET") or "").strip()
        if not bucket:
            raise ValueError("EVIDENCE_STORE=s3 needs EVIDENCE_S3_BUCKET")
        names = {"aws_access_key_id": "AWS_ACCESS_KEY_ID", "aws_secret_access_key": "AWS_SECRET_ACCESS_KEY",
                 "aws_session_token": "AWS_SESSION_TOKEN"}
        kwargs = {arg: env[name] for arg, name in names.items() if env.get(name)}
        region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
        if region:
            kwargs["region_name"] = region
        return S3Store(bucket, endpoint_url=env.get("EVIDENCE_S3_ENDPOINT") or None,
                       prefix=env.get("EVIDENCE_S3_PREFIX", "evidence/"), client_kwargs=kwargs,
                       checksum=env.get("EVIDENCE_S3_CHECKSUM", "1").strip() not in ("0", "false", "no"))
    raise ValueError(f"EVIDENCE_STORE must be 'local' or 's3', not {kind!r}")


def _check(sha256: str) -> None:
    if not isinstance(sha256, str) or not _SHA256.fullmatch(sha256):
        raise ValueError(f"not a lowercase hex SHA-256: {sha256!r}")


def _chunks(source_file: IO[bytes]):
    if source_file.seekable():
        source_file.seek(0)
    while chunk := source_file.read(_CHUNK):
        yield chunk


def _write_temp(folder: Path, chunks, expect: str | None = None) -> Path:
    fd, name = tempfile.mkstemp(dir=folder, prefix=".incoming-")
    tmp = Path(name)
    try:
        digest = hashlib.sha256()
        with os.fdopen(fd, "wb") as out:
            for chunk in chunks:
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        if expect is not None and digest.hexdigest() != expect:
            raise ValueError(f"content hashes to {digest.hexdigest()}, not {expect}")
        return tmp
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _open_or_missing(path: Path, sha256: str) -> IO[bytes]:
    try:
        return open(path, "rb")
    except FileNotFoundError:
        raise EvidenceMissing(sha256) from None


def _error_code(exc: BaseException) -> str | None:
    """The error code of a botocore ClientError (or anything shaped like one)."""
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return None
    code = response.get("Error", {}).get("Code") or response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return str(code) if code else None
