"""Load a portrait image safely: real image type by content, size limits, EXIF orientation."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from companion.errors import InputError
from companion.frames import LoadedImage

MAX_BYTES = 25 * 1024 * 1024
MAX_PIXELS = 40_000_000
MIN_SIDE = 64
# Pixels are kept at most this large on the long side: the rig works at 512, the identity check
# needs a face of ~150 px, and eight 40-megapixel uploads held full-size pinned ~1 GB. The hash
# stays the uploaded file's, so consent records and rig caches still name the same image.
KEEP_SIDE = 2048


def load_image_bytes(data: bytes, name: str = "image") -> LoadedImage:
    if not data:
        raise InputError(f"image is empty: {name}")
    if len(data) > MAX_BYTES:
        raise InputError(f"image is larger than {MAX_BYTES // (1024 * 1024)} MB: {name}")
    sha = hashlib.sha256(data).hexdigest()
    try:
        with Image.open(io.BytesIO(data)) as im:
            if im.format not in ("JPEG", "PNG", "WEBP", "BMP"):
                raise InputError(f"unsupported image type {im.format}: {name}",
                                 "use JPEG, PNG, WebP or BMP")
            w, h = im.size
            # Checked before decoding pixels: a decompression bomb is refused from its header.
            if w * h > MAX_PIXELS:
                raise InputError(f"image has too many pixels ({w}×{h}): {name}",
                                 f"at most {MAX_PIXELS // 1_000_000} megapixels")
            if min(w, h) < MIN_SIDE:
                raise InputError(f"image is too small ({w}×{h}): {name}")
            im.draft("RGB", (KEEP_SIDE, KEEP_SIDE))  # JPEG: decoded at 1/2-1/8 scale already
            im.load()
            upright = ImageOps.exif_transpose(im).convert("RGB")
            if max(upright.size) > KEEP_SIDE:
                upright.thumbnail((KEEP_SIDE, KEEP_SIDE), Image.Resampling.LANCZOS)
            rgb = np.asarray(upright, dtype=np.uint8).copy()
    except InputError:
        raise
    except Image.DecompressionBombError:  # Pillow's own guard fires in open() for huge headers
        raise InputError(f"image has too many pixels: {name}",
                         f"at most {MAX_PIXELS // 1_000_000} megapixels") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise InputError(f"not a readable image: {name}") from None
    return LoadedImage(rgb=rgb, sha256=sha, name=name)


def load_image(path: str | Path) -> LoadedImage:
    p = Path(path)
    if not p.is_file():
        raise InputError(f"image not found: {p}")
    if p.stat().st_size > MAX_BYTES:
        raise InputError(f"image is larger than {MAX_BYTES // (1024 * 1024)} MB: {p.name}")
    return load_image_bytes(p.read_bytes(), p.name)
