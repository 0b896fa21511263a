from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from companion.errors import ConsentError, InputError
from companion.face import engine
from companion.face.mesh import signed_areas
from companion.face.motion import MotionControls, generate
from companion.face.params import INDEX, NAMES, FaceParams
from companion.face.render import CpuRenderer
from companion.face.rig import Rig


def test_rest_frame_is_the_aligned_portrait(mona: Rig) -> None:
    out = CpuRenderer(mona).render(FaceParams().to_array())
    assert np.array_equal(out, mona.image)


def test_each_parameter_changes_the_frame_where_it_should(mona: Rig) -> None:
    r = CpuRenderer(mona)
    lm = mona.landmarks
    mouth = lm[13, :2].astype(int)
    eye = lm[159, :2].astype(int)
    for name, value, where in [("jaw", 0.6, mouth), ("smile", 0.8, mouth), ("pucker", 0.8, mouth),
                               ("blink_a", 1.0, eye), ("gaze_x", 0.5, lm[468, :2].astype(int)),
                               ("brow_raise", 1.0, lm[105, :2].astype(int))]:
        p = np.zeros(len(NAMES), np.float32)
        p[INDEX[name]] = value
        diff = np.abs(r.render(p).astype(int) - mona.image.astype(int)).sum(axis=2)
        x, y = where
        local = diff[y - 12:y + 13, x - 12:x + 13].mean()
        far = diff[:60, :60].mean()
        assert local > 8 and far == 0, (name, local, far)


def test_open_mouth_has_a_dark_interior(mona: Rig) -> None:
    r = CpuRenderer(mona)
    out = r.render(FaceParams(jaw=0.8).to_array())
    main, _ = r.vertices(FaceParams(jaw=0.8).to_array())
    c = ((main[13, :2] + main[14, :2]) / 2).astype(int)
    inside = out[c[1] - 1:c[1] + 2, c[0] - 1:c[0] + 2].mean()
    skin = mona.image[c[1] + 40, c[0]].mean()
    assert inside < 0.6 * skin


def test_closed_eyelid_covers_the_eye_with_skin(mona: Rig) -> None:
    r = CpuRenderer(mona)
    out = r.render(FaceParams(blink_a=1.0, blink_b=1.0).to_array())
    iris = mona.landmarks[468, :2].astype(int)
    before = mona.image[iris[1] - 2:iris[1] + 3, iris[0] - 2:iris[0] + 3].mean()
    after = out[iris[1] - 2:iris[1] + 3, iris[0] - 2:iris[0] + 3].mean()
    assert after > before + 15  # the dark iris is hidden under lighter lid skin


def test_same_seed_same_frames_different_seed_different(mona: Rig) -> None:
    opts = engine.RenderOptions(controls=MotionControls(seed=7))
    a = list(engine.frames(mona, engine.plan(None, 2.0, opts), opts))
    b = list(engine.frames(mona, engine.plan(None, 2.0, opts), opts))
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    other = dataclasses.replace(opts, controls=MotionControls(seed=8))
    c = list(engine.frames(mona, engine.plan(None, 2.0, other), other))
    assert any(not np.array_equal(x, y) for x, y in zip(a, c, strict=True))


def test_rendering_without_consent_is_refused(mona: Rig) -> None:
    stripped = dataclasses.replace(mona, meta={k: v for k, v in mona.meta.items()
                                               if k != "consent_id"})
    with pytest.raises(ConsentError):
        engine.make_renderer(stripped)


def test_generated_motion_does_not_fold_the_mesh(mona: Rig) -> None:
    """Speech-driven motion in every emotion: lips and lids never fold; the only tolerated folds
    are slivers at the head's silhouette under yaw, which depth ordering hides."""
    from companion.face import topology as T

    r = CpuRenderer(mona)
    guarded = set(T.INNER_UPPER + T.INNER_LOWER + T.OUTER_UPPER + T.OUTER_LOWER +
                  T.EYE_A_CONTOUR + T.EYE_B_CONTOUR)
    corners = set(T.MOUTH_CORNERS + T.SEMI_CORNERS + T.EYE_A_CORNERS + T.EYE_B_CORNERS)
    # Skin folds into the corners of the eyes and mouth by nature; those triangles only count
    # toward the total folded area.
    near = np.array([any(int(v) in guarded for v in tri) and not any(int(v) in corners
                                                                      for v in tri)
                     for tri in mona.triangles])
    # Slivers under 1 px² at rest (where detected lips touch) cover no pixel: their sign is noise.
    near &= signed_areas(mona.triangles, mona.vertices) > 1.0
    phones = []
    for i, start in enumerate(np.arange(0.2, 19.5, 0.12)):
        phones.append(engine.Phoneme(["m", "ɑ", "i", "u", "p", "æ", "s", "o"][i % 8],
                                     float(start), float(start + 0.12)))
    for emotion in ("neutral", "happy", "sad", "surprised", "concerned"):
        params = generate(500, 25, MotionControls(emotion=emotion, intensity=1.5), phones)
        for p in params[::5]:
            main, _ = r.vertices(p)
            a = signed_areas(mona.triangles, main)
            assert not (a[near] < -0.5).any(), emotion
            assert -a[a < 0].sum() < 60.0, emotion


def test_options_are_validated() -> None:
    with pytest.raises(InputError):
        engine.RenderOptions(fps=24).validate()
    with pytest.raises(InputError, match="emotion"):
        engine.RenderOptions(controls=MotionControls(emotion="angry")).validate()
    with pytest.raises(InputError):
        MotionControls(distance=5).validate()


def test_torch_path_matches_the_cpu_path(mona: Rig) -> None:
    pytest.importorskip("torch")
    from companion.face.render_torch import TorchRenderer

    cpu = CpuRenderer(mona)
    batch = np.stack([FaceParams().to_array(), FaceParams(jaw=0.6, smile=0.3).to_array(),
                      FaceParams(jaw=0.3, yaw=0.05, pitch=-0.03, blink_a=0.6, blink_b=0.6,
                                 gaze_x=0.3, tx=0.02).to_array()])
    out = TorchRenderer(mona, device="cpu").render_batch(batch)
    assert out.shape == (3, 512, 512, 3) and out.dtype == np.uint8
    for p, frame in zip(batch, out, strict=True):
        d = np.abs(cpu.render(p).astype(int) - frame.astype(int))
        assert d.mean() < 0.3
        assert np.percentile(d, 99) <= 2
        assert (d.max(axis=2) > 20).mean() < 0.001  # only rasterisation ties at the cuts
