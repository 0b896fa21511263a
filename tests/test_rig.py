from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from companion.consent.gate import ConsentRecord
from companion.errors import ConsentError, FaceError, InputError
from companion.face.image import load_image, load_image_bytes
from companion.face.mesh import signed_areas
from companion.face.rig import build_rig
from tests.conftest import recorded_consent


def _attest(img: object) -> ConsentRecord:
    rec: ConsentRecord = recorded_consent(img)
    return rec


def _encode(rgb: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    assert ok
    return buf.tobytes()


@pytest.mark.parametrize("name", ["mona-lisa", "difficult-lesson", "toonhead"])
def test_bundled_avatars_rig(name: str) -> None:
    from companion.avatars import resolve

    av = resolve(name)
    rig = build_rig(av.image, av.consent)
    assert rig.image.shape == (512, 512, 3)
    assert rig.landmarks.shape == (478, 3)
    # The face sits in the middle of the frame at the target scale, eyes level.
    a, b = rig.landmarks[468, :2], rig.landmarks[473, :2]
    assert abs(a[1] - b[1]) < 0.06 * rig.iod
    assert 0.17 * 512 < rig.iod < 0.23 * 512
    assert np.all((rig.landmarks[:, :2] > 0) & (rig.landmarks[:, :2] < 512))
    # the mesh covers the frame: face, hair ring, neck and the border
    assert rig.vertices[:, 0].min() == 0 and rig.vertices[:, 0].max() == 511
    assert len(rig.triangles) > 900 and len(rig.hole_triangles) > 20
    assert (signed_areas(rig.triangles, rig.vertices) > -1e-3).all()
    assert rig.matte.shape == (512, 512) and rig.matte[256, 256] > 128  # face is foreground


def test_rig_is_cached_by_image_hash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COMPANION_CACHE", str(tmp_path))
    img = load_image(Path(__file__).parent.parent / "avatars/difficult-lesson/portrait.jpg")
    r1 = build_rig(img, _attest(img))
    files = list((tmp_path / "rigs").glob("*.npz"))
    assert len(files) == 1 and img.sha256[:32] in files[0].name
    r2 = build_rig(img, _attest(img))
    assert np.array_equal(r1.image, r2.image) and np.array_equal(r1.triangles, r2.triangles)
    files[0].write_bytes(b"garbage")  # a damaged cache entry is rebuilt, not trusted
    r3 = build_rig(img, _attest(img))
    assert np.array_equal(r1.vertices, r3.vertices)


def test_small_face_is_upscaled(data: Path) -> None:
    img = load_image(data / "sargent_elizabeth_winthrop_chanler.jpg")
    rig = build_rig(img, _attest(img), use_cache=False)
    assert rig.iod > 90


def test_no_face(data: Path) -> None:
    rng = np.random.default_rng(1)
    noise = cv2.GaussianBlur(rng.integers(0, 255, (400, 400, 3), dtype=np.uint8), (9, 9), 3)
    img = load_image_bytes(_encode(noise), "noise.png")
    with pytest.raises(FaceError, match="no face"):
        build_rig(img, _attest(img), use_cache=False)


def test_two_faces_need_a_choice(data: Path) -> None:
    img = load_image(data / "two_people.jpg")
    with pytest.raises(FaceError, match="2 faces") as e:
        build_rig(img, _attest(img), use_cache=False)
    assert "--face" in str(e.value)
    left = build_rig(img, _attest(img), face=0, use_cache=False)
    right = build_rig(img, _attest(img), face=1, use_cache=False)
    assert not np.array_equal(left.image, right.image)
    with pytest.raises(FaceError, match="--face 5"):
        build_rig(img, _attest(img), face=5, use_cache=False)


def test_cut_off_face(data: Path) -> None:
    img = load_image(data / "obama_partial_face.jpg")
    with pytest.raises(FaceError, match="cut off"):
        build_rig(img, _attest(img), use_cache=False)


def test_tiny_face(data: Path) -> None:
    big = load_image(data / "obama.jpg").rgb
    small = cv2.resize(big, (big.shape[1] // 12, big.shape[0] // 12), interpolation=cv2.INTER_AREA)
    canvas = np.full((400, 400, 3), 128, np.uint8)
    canvas[150:150 + small.shape[0], 150:150 + small.shape[1]] = small
    img = load_image_bytes(_encode(canvas), "tiny.png")
    with pytest.raises(FaceError, match=r"too small|no face"):
        build_rig(img, _attest(img), use_cache=False)


@pytest.mark.parametrize("payload,reason", [
    (b"", "empty"), (b"this is text, not an image", "not a readable image"),
    (b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "not a readable image"),
])
def test_broken_images(payload: bytes, reason: str) -> None:
    with pytest.raises(InputError, match=reason):
        load_image_bytes(payload, "x.png")


def test_decompression_bomb_is_refused_from_its_header() -> None:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("L", (9000, 9000)).save(buf, "PNG")
    with pytest.raises(InputError, match="too many pixels"):
        load_image_bytes(buf.getvalue(), "bomb.png")


def test_exif_orientation_is_applied() -> None:
    import io

    from PIL import Image

    im = Image.new("RGB", (120, 80), (200, 10, 10))
    exif = im.getexif()
    exif[0x0112] = 6  # rotate 90° on display
    buf = io.BytesIO()
    im.save(buf, "JPEG", exif=exif)
    loaded = load_image_bytes(buf.getvalue(), "r.jpg")
    assert loaded.rgb.shape[:2] == (120, 80)


def test_rig_needs_consent(data: Path) -> None:
    img = load_image(data / "obama.jpg")
    with pytest.raises(ConsentError):
        build_rig(img, None, use_cache=False)
    other = ConsentRecord("x", "0" * 64, "artwork", "for another image")
    with pytest.raises(ConsentError, match="different image"):
        build_rig(img, other, use_cache=False)
    revoked = ConsentRecord("x", img.sha256, "artwork", "ok", revoked=True)
    with pytest.raises(ConsentError, match="revoked"):
        build_rig(img, revoked, use_cache=False)
    # a record made up in code is only a reference: the gate looks it up and finds nothing
    made_up = ConsentRecord("c_0123456789abcdef", img.sha256, "artwork", "trust me")
    with pytest.raises(ConsentError, match="not a recorded consent"):
        build_rig(img, made_up, use_cache=False)
    fake_bundled = ConsentRecord("bundled:mona-lisa", img.sha256, "bundled", "trust me")
    with pytest.raises(ConsentError, match="different image"):
        build_rig(img, fake_bundled, use_cache=False)
