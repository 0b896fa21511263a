"""Rig: one portrait → aligned square frame, landmarks, mesh, blend-shape basis, matte, colours.

Built once per portrait and cached by image hash as plain data (an .npz), so motion and render
need neither MediaPipe nor the source image. A cached rig carries its portrait's hash under a MAC
made with the installation's key: one copied under another portrait's name, or edited, does not
verify and is rebuilt from the portrait the caller has consent for.
"""

from __future__ import annotations

import hmac
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from companion.cache import cache_home
from companion.consent import keys
from companion.consent.gate import ConsentRecord, require_consent
from companion.errors import FaceError
from companion.face import mesh
from companion.face import topology as T
from companion.face.deform import build_basis
from companion.face.eyes import fit_drawn_eyes, flat_shaded
from companion.face.image import LoadedImage
from companion.face.landmarks import FaceAnalyzer, analyzer

RIG_VERSION = 23
MIN_IOD_PX = 20.0  # below this an upscaled face is mostly blur
# In the aligned frame the eyes sit this far apart (fraction of the side) and the face-oval
# centre lands here: the whole head with some hair and the neck fit.
TARGET_IOD = 0.2
ANCHOR = (0.5, 0.5)


@dataclass
class Rig:
    image: np.ndarray  # (S, S, 3) uint8 RGB, the aligned portrait (the rest frame)
    landmarks: np.ndarray  # (478, 3) float32, detected on the aligned frame
    vertices: np.ndarray  # (N, 3) float32 rest mesh vertices (first 478 = landmarks)
    head_weight: np.ndarray  # (N,)
    fixed: np.ndarray  # (N,) bool
    triangles: np.ndarray  # (M, 3) int32
    hole_triangles: np.ndarray  # (K, 3) int32
    basis: np.ndarray  # (E, N, 2) float32
    matte: np.ndarray  # (S, S) uint8
    iod: float
    pivot: np.ndarray  # (3,) float32
    meta: dict[str, object] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return int(self.image.shape[0])

    @property
    def consent_id(self) -> str:
        return str(self.meta.get("consent_id", ""))

    def colour(self, key: str) -> np.ndarray:
        return np.array(self.meta["colours"][key], np.float32)  # type: ignore[index]

    def _arrays(self) -> dict[str, np.ndarray]:
        meta = {k: v for k, v in self.meta.items() if k != "consent_id"}  # the caller's, not ours
        return {"image": self.image, "landmarks": self.landmarks, "vertices": self.vertices,
                "head_weight": self.head_weight, "fixed": self.fixed,
                "triangles": self.triangles, "hole_triangles": self.hole_triangles,
                "basis": self.basis, "matte": self.matte, "iod": np.array(self.iod, np.float32),
                "pivot": self.pivot,
                "meta": np.frombuffer(json.dumps(meta, sort_keys=True).encode(), np.uint8)}

    @staticmethod
    def _mac(arrays: dict[str, np.ndarray]) -> str:
        return keys.mac_bytes("rig", *(k.encode() + np.ascontiguousarray(arrays[k]).tobytes()
                                       for k in sorted(arrays)))

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npz")
        arrays = self._arrays()
        np.savez_compressed(tmp, mac=np.frombuffer(self._mac(arrays).encode(), np.uint8),
                            **arrays)
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path, source_sha256: str) -> Rig:
        """A cached rig, only if it verifies and was built from the portrait with this hash
        (ValueError otherwise: the caller rebuilds it)."""
        with np.load(path) as z:
            arrays = {k: z[k] for k in z.files if k != "mac"}
            mac = bytes(z["mac"]).decode() if "mac" in z.files else ""
        if not hmac.compare_digest(cls._mac(arrays), mac):
            raise ValueError(f"the cached rig {path.name} is not signed by this installation")
        meta = json.loads(bytes(arrays["meta"]).decode())
        if meta.get("source_sha256") != source_sha256:
            raise ValueError(f"the cached rig {path.name} was built from another portrait")
        return cls(image=arrays["image"], landmarks=arrays["landmarks"],
                   vertices=arrays["vertices"], head_weight=arrays["head_weight"],
                   fixed=arrays["fixed"], triangles=arrays["triangles"],
                   hole_triangles=arrays["hole_triangles"], basis=arrays["basis"],
                   matte=arrays["matte"], iod=float(arrays["iod"]), pivot=arrays["pivot"],
                   meta=meta)

    def scaled(self, size: int) -> Rig:
        """The same rig at another output size (for benchmarks and small previews)."""
        if size == self.size:
            return self
        k = size / self.size
        interp = cv2.INTER_AREA if k < 1 else cv2.INTER_CUBIC
        img = cv2.resize(self.image, (size, size), interpolation=interp)
        matte = cv2.resize(self.matte, (size, size), interpolation=cv2.INTER_LINEAR)
        return Rig(image=img, landmarks=self.landmarks * k, vertices=self.vertices * k,
                   head_weight=self.head_weight, fixed=self.fixed, triangles=self.triangles,
                   hole_triangles=self.hole_triangles, basis=self.basis * k, matte=matte,
                   iod=self.iod * k, pivot=self.pivot * k, meta=dict(self.meta))


def cache_dir() -> Path:
    return cache_home() / "rigs"


def _key_prefix(image_sha256: str) -> str:
    return image_sha256[:32]


def cached_rigs(image_sha256: str) -> list[Path]:
    """Every cached rig built from this image (revoking its consent deletes them); the file
    names are this module's business, so the glob lives here."""
    return sorted(cache_dir().glob(f"{_key_prefix(image_sha256)}-*.npz"))


def _eye_centre(lm: np.ndarray, contour: tuple[int, ...]) -> np.ndarray:
    return lm[list(contour), :2].mean(axis=0)


def _iod(lm: np.ndarray) -> float:
    a = _eye_centre(lm, T.EYE_A_CONTOUR)
    return float(np.linalg.norm(a - _eye_centre(lm, T.EYE_B_CONTOUR)))


def _pick_face(src: LoadedImage, face: int | None, fa: FaceAnalyzer) -> np.ndarray:
    """Landmarks (in source pixels) of the chosen face, with clear errors for the bad cases."""
    rgb = src.rgb
    # The landmark model is the judge of a usable face; the detector only adds faces the mesh
    # model missed (it looks at fewer, larger faces) when it is confident about them.
    dets = [d for d in fa.detect(rgb) if d.score >= 0.75]
    found = fa.landmarks(rgb)
    if not found:
        hint = ("something face-like was seen, but its eyes, nose and mouth could not be located"
                if dets else "use a portrait where one face is clearly visible")
        raise FaceError(f"no face found in {src.name}", hint)
    count = max(len(dets), len(found))
    if count > 1 and face is None:
        raise FaceError(f"{count} faces found in {src.name}",
                        f"pick one with --face N (0 = largest … {count - 1})")
    idx = face or 0
    if idx >= count:
        raise FaceError(f"--face {idx} asked for, but {src.name} has {count} face(s)")
    if dets:
        x0, y0, x1, y1 = dets[min(idx, len(dets) - 1)].box
        c = np.array([(x0 + x1) / 2, (y0 + y1) / 2])
        best = min(range(len(found)),
                   key=lambda i: float(np.linalg.norm(found[i][:, :2].mean(axis=0) - c)))
        return found[best]
    by_size = sorted(found, key=lambda f: -float(np.ptp(f[:, 0]) * np.ptp(f[:, 1])))
    return by_size[min(idx, len(found) - 1)]


def _check_face(lm: np.ndarray, src: LoadedImage) -> float:
    h, w = src.rgb.shape[:2]
    iod = _iod(lm)
    if iod < MIN_IOD_PX:
        raise FaceError(f"the face in {src.name} is too small (eyes {iod:.0f} px apart, "
                        f"need at least {MIN_IOD_PX:.0f})", "use a larger or closer portrait")
    oval = lm[list(T.FACE_OVAL), :2]
    margin = -0.02 * iod
    outside = ((oval[:, 0] < margin) | (oval[:, 1] < margin) |
               (oval[:, 0] > w - 1 - margin) | (oval[:, 1] > h - 1 - margin))
    if outside.mean() > 0.05:
        raise FaceError(f"the face in {src.name} is cut off at the image edge",
                        "use a portrait that shows the whole face")
    return iod


def _similarity(lm: np.ndarray, size: int) -> np.ndarray:
    a = _eye_centre(lm, T.EYE_A_CONTOUR)
    b = _eye_centre(lm, T.EYE_B_CONTOUR)
    left, right = (a, b) if a[0] < b[0] else (b, a)
    angle = np.degrees(np.arctan2(right[1] - left[1], right[0] - left[0]))
    scale = TARGET_IOD * size / _iod(lm)
    anchor = lm[list(T.FACE_OVAL), :2].mean(axis=0)
    m = np.asarray(cv2.getRotationMatrix2D((float(anchor[0]), float(anchor[1])), float(angle),
                                           float(scale)), np.float64)
    m[:, 2] += np.array([ANCHOR[0] * size, ANCHOR[1] * size]) - anchor
    return m


def _strip_colour(img: np.ndarray, pts_a: np.ndarray, pts_b: np.ndarray, q: float) -> list[float]:
    poly = np.concatenate([pts_a, pts_b[::-1]]).astype(np.int32)
    mask = np.zeros(img.shape[:2], np.uint8)
    cv2.fillPoly(mask, [poly], (255,))
    px = img[mask > 0]
    if len(px) == 0:
        return [float(v) for v in img.reshape(-1, 3).mean(axis=0)]
    lum = px.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    sel = px[lum <= np.percentile(lum, q)] if q < 100 else px
    return [float(v) for v in np.median(sel, axis=0)]


def _colours(img: np.ndarray, lm: np.ndarray) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    for key, upper, crease in (("lid_a", T.EYE_A_UPPER, T.EYE_A_CREASE),
                               ("lid_b", T.EYE_B_UPPER, T.EYE_B_CREASE)):
        out[key] = _strip_colour(img, lm[list(upper), :2], lm[list(crease), :2], 100)
        out["lash_" + key[-1]] = _strip_colour(img, lm[list(upper), :2] - [0, 1.5],
                                               lm[list(upper), :2] + [0, 1.5], 25)
    out["lip"] = _strip_colour(img, lm[list(T.OUTER_LOWER), :2], lm[list(T.INNER_LOWER), :2], 100)
    out["skin"] = _strip_colour(img, lm[[234, 93, 132], :2], lm[[205, 50, 187], :2], 100)
    return out


def check_portrait(src: LoadedImage, face: int | None = None) -> None:
    """Raise FaceError unless the image shows one usable face (or `face` picks one). Animates
    nothing, so it needs no consent: it runs before a consent record is made."""
    _check_face(_pick_face(src, face, analyzer()), src)


def build_rig(src: LoadedImage, consent: ConsentRecord | None, size: int = 512,
              face: int | None = None, use_cache: bool = True) -> Rig:
    """Build (or load from cache) the rig for a portrait. Needs a valid consent record."""
    record = require_consent(consent, src.sha256)
    key = f"{_key_prefix(src.sha256)}-f{face or 0}-s{size}-v{RIG_VERSION}"
    path = cache_dir() / f"{key}.npz"
    if use_cache and path.is_file():
        try:
            rig = Rig.load(path, src.sha256)
            rig.meta["consent_id"] = record.consent_id
            return rig
        except (OSError, ValueError, KeyError, EOFError):
            path.unlink(missing_ok=True)  # a damaged or foreign cache entry is rebuilt
    fa = analyzer()
    lm_src = _pick_face(src, face, fa)
    _check_face(lm_src, src)
    m = _similarity(lm_src, size)
    interp = cv2.INTER_CUBIC if m[0, 0] ** 2 + m[0, 1] ** 2 > 1 else cv2.INTER_AREA
    img = cv2.warpAffine(src.rgb, m, (size, size), flags=interp,
                         borderMode=cv2.BORDER_REFLECT101)
    found = fa.landmarks(img)
    if found:
        c = np.array([ANCHOR[0] * size, ANCHOR[1] * size])
        lm = min(found, key=lambda f: float(np.linalg.norm(f[:, :2].mean(axis=0) - c)))
    else:
        lm = lm_src.copy()
        lm[:, :2] = lm_src[:, :2] @ m[:, :2].T + m[:, 2]
        lm[:, 2] *= float(np.sqrt(m[0, 0] ** 2 + m[0, 1] ** 2))
    lm = mesh.uncross(lm.astype(np.float32))
    flat = flat_shaded(img, lm)  # the cheeks it reads are not among the points the fit moves
    lm = mesh.clamp_iris(fit_drawn_eyes(img, lm, flat))
    iod = _iod(lm)
    matte = (fa.matte(img) * 255).astype(np.uint8)
    extra_xyz, extra_w, extra_fixed = mesh.extra_points(lm, size, iod, matte)
    verts = np.concatenate([lm, extra_xyz]).astype(np.float32)
    head_w = np.concatenate([np.ones(len(lm), np.float32), extra_w])
    fixed = np.concatenate([np.zeros(len(lm), bool), extra_fixed])
    basis = build_basis(verts, fixed, iod)
    tris, holes = mesh.triangulate(mesh.opened(verts, iod), verts)
    oval = lm[list(T.FACE_OVAL), :2]
    pivot = np.array([oval[:, 0].mean(), lm[T.CHIN, 1] + 0.3 * iod, 0.8 * iod], np.float32)
    rig = Rig(image=img, landmarks=lm, vertices=verts, head_weight=head_w, fixed=fixed,
              triangles=tris, hole_triangles=holes, basis=basis, matte=matte, iod=iod,
              pivot=pivot, meta={"source_sha256": src.sha256, "source_name": src.name,
                                 "transform": m.tolist(), "colours": _colours(img, lm),
                                 "flat_shaded": flat,
                                 "rig_version": RIG_VERSION})
    if use_cache:
        rig.save(path)
    rig.meta["consent_id"] = record.consent_id
    return rig


__all__ = ["Rig", "build_rig", "cache_dir", "cached_rigs", "check_portrait"]
