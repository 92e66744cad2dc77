"""Evidence uploads: type from content, limits, EXIF, thumbnails, content-addressed stores."""
import hashlib
import io
import os
import stat
import threading
from fractions import Fraction

import pytest
from PIL import ExifTags, Image
from PIL.TiffImagePlugin import IFDRational

from incidents import evidence
from incidents.evidence import EvidenceMissing, EvidenceRejected, LocalStore, S3Store, inspect, make_thumbnail

# A point in Jincheng: 112°51'7.56"E 35°30'1.08"N.
JINCHENG_LON = 112 + 51 / 60 + 7.56 / 3600
JINCHENG_LAT = 35 + 30 / 60 + 1.08 / 3600
MP4_HEADER = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"
MOV_HEADER = b"\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00qt  "


def image_bytes(fmt="JPEG", size=(640, 480), color=(30, 120, 60), exif=None):
    out = io.BytesIO()
    im = Image.new("RGB", size, color)
    if exif is not None:
        im.save(out, fmt, exif=exif)
    else:
        im.save(out, fmt)
    return out.getvalue()


def gps_exif(lat_ref="N", lat=((35, 1), (30, 1), (108, 100)), lon_ref="E", lon=((112, 1), (51, 1), (756, 100))):
    exif = Image.Exif()
    exif[ExifTags.IFD.GPSInfo] = {
        ExifTags.GPS.GPSLatitudeRef: lat_ref,
        ExifTags.GPS.GPSLatitude: tuple(IFDRational(*v) for v in lat),
        ExifTags.GPS.GPSLongitudeRef: lon_ref,
        ExifTags.GPS.GPSLongitude: tuple(IFDRational(*v) for v in lon),
    }
    exif[ExifTags.IFD.Exif] = {ExifTags.Base.DateTimeOriginal: "2025:06:01 09:30:15"}
    return exif


def check(data, name="photo.jpg", declared="image/jpeg", **limits):
    return inspect(io.BytesIO(data), name, declared, **limits)


def rejected(data, name="photo.jpg", declared="image/jpeg", **limits):
    with pytest.raises(EvidenceRejected) as info:
        check(data, name, declared, **limits)
    return info.value


# --- inspect ------------------------------------------------------------------------------

def test_a_jpeg_is_hashed_sized_and_measured():
    data = image_bytes()
    with check(data) as got:
        assert (got.mime, got.kind, got.size, got.width, got.height) == ("image/jpeg", "image", len(data), 640, 480)
        assert got.sha256 == hashlib.sha256(data).hexdigest()
        assert got.file.read() == data
        assert (got.exif_lon, got.exif_lat, got.exif_taken_at) == (None, None, None)
        assert got.thumbnailable


def test_a_png_is_recognised_by_its_content_whatever_its_name():
    with check(image_bytes("PNG", (50, 40)), name="upload.bin", declared="application/octet-stream") as got:
        assert (got.mime, got.width, got.height) == ("image/png", 50, 40)


def test_a_webp_is_accepted():
    with check(image_bytes("WEBP", (20, 10)), name="a.webp", declared="image/webp") as got:
        assert (got.mime, got.kind) == ("image/webp", "image")


def test_exif_gps_is_converted_to_decimal_degrees():
    with check(image_bytes(exif=gps_exif())) as got:
        assert got.exif_lon == pytest.approx(JINCHENG_LON, abs=1e-6)
        assert got.exif_lat == pytest.approx(JINCHENG_LAT, abs=1e-6)
        assert got.exif_lon == pytest.approx(112.8521, abs=1e-6)
        assert got.exif_lat == pytest.approx(35.5003, abs=1e-6)
        assert got.exif_taken_at == "2025-06-01T09:30:15"


def test_south_and_west_references_make_negative_degrees():
    with check(image_bytes(exif=gps_exif(lat_ref="S", lon_ref="W"))) as got:
        assert got.exif_lon == pytest.approx(-JINCHENG_LON, abs=1e-6)
        assert got.exif_lat == pytest.approx(-JINCHENG_LAT, abs=1e-6)


@pytest.mark.parametrize("exif", [
    gps_exif(lat=((35, 0), (30, 1), (0, 1))),  # zero denominator
    gps_exif(lat_ref="X"),
    gps_exif(lon=((200, 1), (0, 1), (0, 1))),  # out of range
    gps_exif(lat=((0, 1), (0, 1), (0, 1)), lon=((0, 1), (0, 1), (0, 1))),  # "no fix" written as 0,0
], ids=["zero-denominator", "bad-reference", "out-of-range", "null-island"])
def test_malformed_gps_gives_no_position(exif):
    with check(image_bytes(exif=exif)) as got:
        assert (got.exif_lon, got.exif_lat) == (None, None)
        assert got.width == 640  # the image itself is still accepted


def test_gps_to_decimal_takes_fractions_and_floats():
    assert evidence.gps_to_decimal((Fraction(35), 30.0, 1.08), b"N\x00", positive="N", negative="S", bound=90) \
        == pytest.approx(JINCHENG_LAT, abs=1e-9)
    assert evidence.gps_to_decimal(None, "N", positive="N", negative="S", bound=90) is None
    assert evidence.gps_to_decimal((35, 30, 1), None, positive="N", negative="S", bound=90) is None


def test_an_exif_rotated_photo_reports_its_displayed_size():
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    with check(image_bytes(size=(400, 200), exif=exif)) as got:
        assert (got.width, got.height) == (200, 400)


def test_a_minimal_mp4_is_a_video():
    data = MP4_HEADER + b"\x00\x00\x00\x08free" + os.urandom(5000)
    with check(data, name="clip.mp4", declared="video/mp4") as got:
        assert (got.mime, got.kind, got.size, got.width) == ("video/mp4", "video", len(data), None)
        assert not got.thumbnailable


def test_a_quicktime_movie_is_a_video():
    with check(MOV_HEADER + b"\x00" * 100, name="IMG_0001.MOV", declared="video/quicktime") as got:
        assert (got.mime, got.kind) == ("video/quicktime", "video")


def test_heic_is_recognised_and_accepted_unmeasured_without_pillow_heif(monkeypatch):
    monkeypatch.setattr(evidence, "_heif", False)
    data = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 100
    with check(data, name="IMG_0001.HEIC", declared="image/heic") as got:
        assert (got.mime, got.kind, got.width, got.height) == ("image/heic", "image", None, None)
        assert not got.thumbnailable


def test_an_exe_named_photo_jpg_is_refused():
    exe = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 200
    err = rejected(exe)
    assert (err.status, err.field) == (422, "file")
    assert "content is application/x-msdownload, not an image" in err.reason


def test_text_named_photo_jpg_is_refused():
    err = rejected(b"just some text, honestly a photo\n" * 10)
    assert err.status == 422 and "not an image" in err.reason


def test_the_file_name_alone_is_a_claim_too():
    err = rejected(MP4_HEADER + b"\x00" * 100, name="photo.JPG", declared=None)
    assert err.status == 422 and "content is video/mp4, not an image" in err.reason


def test_an_image_declared_as_video_is_refused():
    err = rejected(image_bytes(), name="clip.mp4", declared="video/mp4")
    assert err.status == 422 and "content is image/jpeg, not a video" in err.reason


def test_an_accepted_format_needs_no_claim_but_others_are_refused():
    gif = io.BytesIO()
    Image.new("RGB", (4, 4)).save(gif, "GIF")
    err = rejected(gif.getvalue(), name=None, declared=None)
    assert err.status == 422 and "content is image/gif; accepted are" in err.reason


def test_an_empty_file_is_refused():
    assert rejected(b"").status == 422


def test_a_truncated_jpeg_is_refused():
    data = noisy_jpeg()
    err = rejected(data[: len(data) // 2])
    assert err.status == 422 and "cannot be decoded" in err.reason


def test_a_corrupt_png_is_refused():
    data = bytearray(image_bytes("PNG", (64, 64)))
    data[60:80] = b"\x00" * 20  # inside the IHDR/IDAT: checksums fail
    assert rejected(bytes(data), name="a.png", declared="image/png").status == 422


def test_too_many_pixels_are_refused_before_decoding(monkeypatch):
    monkeypatch.setattr(evidence, "MAX_IMAGE_PIXELS", 100 * 100)
    err = rejected(image_bytes(size=(101, 100)))
    assert err.status == 422 and "pixels" in err.reason


class EndlessStream:
    """A JPEG signature followed by endless bytes; fails the test if read far past `allowed`."""

    def __init__(self, head, allowed):
        self.head, self.allowed, self.read_so_far = head, allowed, 0

    def read(self, n=-1):
        assert n is not None and n > 0, "the reader must read in chunks"
        if self.read_so_far + n > self.allowed:
            raise AssertionError(f"read {self.read_so_far + n} bytes, more than {self.allowed}")
        start = self.read_so_far
        self.read_so_far += n
        data = (self.head[start:start + n] if start < len(self.head) else b"")
        return data + b"\xab" * (n - len(data))


def test_an_oversize_image_is_refused_with_413_and_the_reading_stops_early():
    limit = 300_000
    stream = EndlessStream(b"\xff\xd8\xff\xe0", allowed=limit + evidence.CHUNK)
    with pytest.raises(EvidenceRejected) as info:
        inspect(stream, "big.jpg", "image/jpeg", max_image_bytes=limit)
    assert info.value.status == 413 and "at most" in info.value.reason
    assert limit < stream.read_so_far <= limit + 1


def test_the_video_limit_applies_to_videos():
    data = MP4_HEADER + b"\x00" * 20_000
    assert rejected(data, "c.mp4", "video/mp4", max_image_bytes=10**9, max_video_bytes=10_000).status == 413
    with check(data, "c.mp4", "video/mp4", max_image_bytes=100, max_video_bytes=10**6) as got:
        assert got.size == len(data)


def test_limits_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("EVIDENCE_MAX_IMAGE_BYTES", "1000")
    assert evidence.limits_from_env() == (1000, evidence.MAX_VIDEO_BYTES)
    assert rejected(image_bytes()).status == 413
    monkeypatch.setenv("EVIDENCE_MAX_VIDEO_BYTES", "lots")
    with pytest.raises(ValueError):
        evidence.limits_from_env()


def test_large_content_is_spooled_to_disk_not_memory(tmp_path):
    data = MP4_HEADER + os.urandom(evidence.SPOOL_BYTES + 10)
    with inspect(io.BytesIO(data), "c.mp4", "video/mp4", temp_dir=tmp_path) as got:
        assert got.file._rolled  # SpooledTemporaryFile moved to a real file
        assert got.file.read() == data


# --- thumbnails ---------------------------------------------------------------------------

def noisy_jpeg(size=(800, 600)):
    out = io.BytesIO()
    Image.effect_noise(size, 64).convert("RGB").save(out, "JPEG", quality=90)
    return out.getvalue()


def test_a_thumbnail_is_a_small_jpeg():
    thumb = make_thumbnail(io.BytesIO(noisy_jpeg((1600, 900))), max_side=320)
    with Image.open(io.BytesIO(thumb)) as im:
        assert (im.format, im.mode) == ("JPEG", "RGB")
        assert max(im.size) == 320 and im.size == (320, 180)


def test_a_thumbnail_of_a_transparent_png_is_rgb(tmp_path):
    path = tmp_path / "a.png"
    Image.new("RGBA", (500, 100), (255, 0, 0, 0)).save(path)
    with Image.open(io.BytesIO(make_thumbnail(path, max_side=100))) as im:
        assert (im.mode, im.size) == ("RGB", (100, 20))
        assert im.getpixel((50, 10))[1] > 240  # white behind the transparency


def test_a_thumbnail_is_turned_upright_by_exif_orientation():
    im = Image.new("RGB", (400, 200), (255, 0, 0))
    im.paste((0, 0, 255), (200, 0, 400, 200))  # left half red, right half blue
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6  # display rotated 90° clockwise
    out = io.BytesIO()
    im.save(out, "JPEG", exif=exif)
    with Image.open(io.BytesIO(make_thumbnail(io.BytesIO(out.getvalue())))) as thumb:
        assert thumb.size == (160, 320)
        top, bottom = thumb.getpixel((80, 20)), thumb.getpixel((80, 300))
        assert top[0] > 200 and top[2] < 60  # the left (red) half is now on top
        assert bottom[2] > 200 and bottom[0] < 60


# --- local store --------------------------------------------------------------------------

def test_local_store_round_trips_byte_for_byte(tmp_path):
    store = LocalStore(tmp_path)
    data = MP4_HEADER + os.urandom(3 * 1024 * 1024)
    with check(data, "c.mp4", "video/mp4") as got:
        assert store.put(got.sha256, got.file, got.mime) is True
    sha = hashlib.sha256(data).hexdigest()
    assert store.exists(sha)
    assert store.path_for(sha) == tmp_path / sha[:2] / sha[2:4] / sha
    with store.open(sha) as f:
        assert f.read() == data


def test_the_same_content_is_stored_once_and_never_rewritten(tmp_path):
    store = LocalStore(tmp_path)
    data = image_bytes()
    sha = hashlib.sha256(data).hexdigest()
    assert store.put(sha, io.BytesIO(data), "image/jpeg") is True
    path = store.path_for(sha)
    before = path.stat()
    assert store.put(sha, io.BytesIO(data), "image/jpeg") is False
    after = path.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert path.read_bytes() == data
    assert stat.S_IMODE(after.st_mode) == 0o444
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == [sha]  # no temporary files left


def test_content_that_does_not_match_its_hash_is_not_stored(tmp_path):
    store = LocalStore(tmp_path)
    with pytest.raises(ValueError):
        store.put(hashlib.sha256(b"a").hexdigest(), io.BytesIO(b"b"), "image/jpeg")
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]


def test_names_that_are_not_hashes_are_refused(tmp_path):
    store = LocalStore(tmp_path)
    for bad in ("../../etc/passwd", "A" * 64, "ab"):
        with pytest.raises(ValueError):
            store.exists(bad)


def test_concurrent_puts_of_the_same_content_store_it_once(tmp_path):
    store = LocalStore(tmp_path)
    data = os.urandom(2 * 1024 * 1024)
    sha = hashlib.sha256(data).hexdigest()
    results, barrier = [], threading.Barrier(8)

    def put():
        barrier.wait()
        results.append(store.put(sha, io.BytesIO(data), "video/mp4"))

    threads = [threading.Thread(target=put) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False] * 7 + [True]
    assert store.path_for(sha).read_bytes() == data
    assert len([p for p in tmp_path.rglob("*") if p.is_file()]) == 1


def test_missing_content_and_thumbnails_say_so(tmp_path):
    store = LocalStore(tmp_path)
    sha = hashlib.sha256(b"nothing").hexdigest()
    assert not store.exists(sha)
    with pytest.raises(EvidenceMissing):
        store.open(sha)
    with pytest.raises(EvidenceMissing):
        store.open_thumbnail(sha)


def test_thumbnails_are_stored_beside_the_originals(tmp_path):
    store = LocalStore(tmp_path)
    sha = hashlib.sha256(b"x").hexdigest()
    store.put_thumbnail(sha, b"\xff\xd8\xff first")
    store.put_thumbnail(sha, b"\xff\xd8\xff second")  # derived data: may be regenerated
    with store.open_thumbnail(sha) as f:
        assert f.read() == b"\xff\xd8\xff second"
    assert not store.exists(sha)


def test_store_from_env_defaults_to_a_local_folder_under_the_data_dir(tmp_path):
    store = evidence.store_from_env({"ENVGRID_DATA_DIR": str(tmp_path)})
    assert isinstance(store, LocalStore) and store.root == tmp_path / "evidence"
    store = evidence.store_from_env({"EVIDENCE_DIR": str(tmp_path / "x"), "ENVGRID_DATA_DIR": "/nowhere"})
    assert store.root == tmp_path / "x"


def test_store_from_env_builds_an_s3_store():
    store = evidence.store_from_env({"EVIDENCE_STORE": "S3", "EVIDENCE_S3_BUCKET": "proofs",
                                     "EVIDENCE_S3_ENDPOINT": "http://minio:9000", "AWS_REGION": "cn-north-1",
                                     "AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s"})
    assert isinstance(store, S3Store)
    assert (store.bucket, store.endpoint_url, store.prefix) == ("proofs", "http://minio:9000", "evidence/")
    with pytest.raises(ValueError):
        evidence.store_from_env({"EVIDENCE_STORE": "s3"})
    with pytest.raises(ValueError):
        evidence.store_from_env({"EVIDENCE_STORE": "ftp"})


# --- S3 store against a fake client (always runs) -------------------------------------------

class FakeClientError(Exception):
    def __init__(self, code):
        super().__init__(code)
        self.response = {"Error": {"Code": code}}


class FakeS3:
    """head_object/put_object/get_object over a dict, honouring IfNoneMatch unless told not to."""

    def __init__(self, conditional="honour"):
        self.objects, self.conditional, self.puts = {}, conditional, []

    def head_object(self, Bucket, Key):
        if (Bucket, Key) not in self.objects:
            raise FakeClientError("404")
        return {}

    def put_object(self, Bucket, Key, Body, ContentType=None, IfNoneMatch=None, ChecksumSHA256=None):
        self.puts.append({"Key": Key, "IfNoneMatch": IfNoneMatch, "ChecksumSHA256": ChecksumSHA256})
        if IfNoneMatch and self.conditional == "unsupported":
            raise FakeClientError("NotImplemented")
        if IfNoneMatch == "*" and (Bucket, Key) in self.objects:
            raise FakeClientError("PreconditionFailed")
        self.objects[(Bucket, Key)] = Body if isinstance(Body, bytes) else Body.read()

    def get_object(self, Bucket, Key):
        if (Bucket, Key) not in self.objects:
            raise FakeClientError("NoSuchKey")
        return {"Body": io.BytesIO(self.objects[(Bucket, Key)])}


def test_s3_store_puts_once_under_a_fanned_out_key():
    client = FakeS3()
    store = S3Store("proofs", client=client)
    data = image_bytes()
    sha = hashlib.sha256(data).hexdigest()
    assert store.put(sha, io.BytesIO(data), "image/jpeg") is True
    assert store.put(sha, io.BytesIO(data), "image/jpeg") is False
    assert list(client.objects) == [("proofs", f"evidence/{sha[:2]}/{sha[2:4]}/{sha}")]
    assert len(client.puts) == 1 and client.puts[0]["IfNoneMatch"] == "*" and client.puts[0]["ChecksumSHA256"]
    assert store.exists(sha) and store.open(sha).read() == data


def test_s3_store_loses_a_race_politely():
    client = FakeS3()
    store = S3Store("proofs", client=client)
    sha = hashlib.sha256(b"v").hexdigest()
    store.put(sha, io.BytesIO(b"v"))
    store.exists = lambda _sha: False  # the other writer finished between our HEAD and PUT
    assert store.put(sha, io.BytesIO(b"v")) is False


def test_s3_store_falls_back_when_conditional_writes_are_not_implemented():
    client = FakeS3(conditional="unsupported")
    store = S3Store("proofs", client=client)
    sha = hashlib.sha256(b"v").hexdigest()
    assert store.put(sha, io.BytesIO(b"v")) is True
    assert [p["IfNoneMatch"] for p in client.puts] == ["*", None]
    assert store.open(sha).read() == b"v"


def test_s3_store_reports_missing_objects():
    store = S3Store("proofs", client=FakeS3())
    sha = hashlib.sha256(b"none").hexdigest()
    assert not store.exists(sha)
    with pytest.raises(EvidenceMissing):
        store.open(sha)
    with pytest.raises(EvidenceMissing):
        store.open_thumbnail(sha)


def test_s3_store_raises_other_errors():
    client = FakeS3()
    client.head_object = lambda **kw: (_ for _ in ()).throw(FakeClientError("403"))
    with pytest.raises(FakeClientError):
        S3Store("proofs", client=client).exists(hashlib.sha256(b"x").hexdigest())


# --- S3 store against moto's in-process S3 ------------------------------------------------

@pytest.fixture
def moto_s3(monkeypatch):
    moto = pytest.importorskip("moto")
    boto3 = pytest.importorskip("boto3")
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    with moto.mock_aws():
        boto3.client("s3").create_bucket(Bucket="proofs")
        yield boto3.client("s3")


def test_s3_store_round_trips_through_moto(moto_s3):
    store = evidence.store_from_env({"EVIDENCE_STORE": "s3", "EVIDENCE_S3_BUCKET": "proofs"})
    data = MP4_HEADER + os.urandom(2 * 1024 * 1024)
    with check(data, "c.mp4", "video/mp4") as got:
        assert store.put(got.sha256, got.file, got.mime) is True
        assert store.put(got.sha256, got.file, got.mime) is False
    sha = hashlib.sha256(data).hexdigest()
    assert store.exists(sha)
    body = store.open(sha)
    assert body.read() == data
    head = moto_s3.head_object(Bucket="proofs", Key=store.key(sha))
    assert head["ContentType"] == "video/mp4"
    store.put_thumbnail(sha, b"\xff\xd8\xff thumb")
    assert store.open_thumbnail(sha).read() == b"\xff\xd8\xff thumb"


def test_moto_s3_refuses_to_replace_an_object_even_when_the_check_races(moto_s3):
    store = S3Store("proofs", client=moto_s3)
    sha = hashlib.sha256(b"first").hexdigest()
    assert store.put(sha, io.BytesIO(b"first"), "image/jpeg") is True
    store.exists = lambda _sha: False
    assert store.put(sha, io.BytesIO(b"first"), "image/jpeg") is False
    assert store.conditional  # the condition was honoured, not dropped
    assert store.open(sha).read() == b"first"
    with pytest.raises(EvidenceMissing):
        store.open(hashlib.sha256(b"other").hexdigest())
