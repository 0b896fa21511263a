"""H.264 + AAC mp4 writer (PyAV) that keeps audio and video on one clock."""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from types import TracebackType

import av
import numpy as np

from companion.frames import AudioFrame

AAC_RATE = 48000


class Mp4Writer:
    """Write RGB frames and one mono audio track. Frame i is stamped i / fps; audio starts at 0.

    AAC wants float-planar 1024-sample frames, so audio goes through a resampler that re-frames it,
    pts are left to the encoder, and resampler and encoders are flushed on close.
    """

    def __init__(self, path: str | Path, size: int | tuple[int, int], fps: int, crf: int = 20,
                 consent_id: str | None = None, description: str | None = None) -> None:
        """`consent_id` marks an export: on close the file gets a signed C2PA manifest that
        declares it AI-generated, names the consent it was made under and says what made it
        (`description`, else provenance.DESCRIPTION)."""
        self.path = Path(path)
        self.consent_id = consent_id
        self.description = description
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.fps = fps
        self._c = av.open(str(self.path), mode="w")
        self._v = self._c.add_stream("libx264", rate=Fraction(fps, 1))
        self._v.width, self._v.height = (size, size) if isinstance(size, int) else size
        self._v.pix_fmt = "yuv420p"
        self._v.options = {"crf": str(crf), "preset": "veryfast"}
        self._a = self._c.add_stream("aac", rate=AAC_RATE)
        self._a.layout = "mono"
        self._resampler = av.AudioResampler(format="fltp", layout="mono", rate=AAC_RATE,
                                            frame_size=1024)
        self._n = 0

    def write_frame(self, rgb: np.ndarray) -> None:
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
        frame.pts = self._n
        frame.time_base = Fraction(1, self.fps)
        self._n += 1
        for packet in self._v.encode(frame):
            self._c.mux(packet)

    def write_audio(self, audio: AudioFrame) -> None:
        pcm = np.clip(audio.samples, -1, 1).astype(np.float32).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(pcm, format="flt", layout="mono")
        frame.sample_rate = audio.sample_rate
        for f in self._resampler.resample(frame):
            for packet in self._a.encode(f):
                self._c.mux(packet)

    def close(self, sign: bool = True) -> None:
        for f in self._resampler.resample(None):
            for packet in self._a.encode(f):
                self._c.mux(packet)
        for packet in self._a.encode(None):
            self._c.mux(packet)
        for packet in self._v.encode(None):
            self._c.mux(packet)
        self._c.close()
        if self.consent_id and sign:
            sign_export(self.path, self.consent_id, self.description)

    def __enter__(self) -> Mp4Writer:
        return self

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close(sign=e is None)  # a half-written file is never signed


def sign_export(path: Path, consent_id: str, description: str | None = None) -> Path:
    """Sign the export at `path` with a C2PA manifest naming its consent and what that consent
    rests on; `description` says what made it (the default: animated from one image)."""
    from companion.consent.provenance import DESCRIPTION, sign_mp4
    from companion.consent.registry import consent_basis

    return sign_mp4(path, consent_id, consent_basis(consent_id), description or DESCRIPTION)


def rewrite_frames(src: str | Path, dst: str | Path, fn: Callable[[np.ndarray], np.ndarray],
                   crf: int = 20, size: tuple[int, int] | None = None) -> Path:
    """Copy the mp4 `src` to `dst` with every video frame passed through `fn` (RGB in, RGB out,
    `size` = (width, height) when it resizes) and re-encoded; the audio packets are copied as
    they are. For work too slow to do while a recording runs in real time (the watermark on
    `chat` exports)."""
    dst = Path(dst)
    with av.open(str(src)) as i, av.open(str(dst), mode="w") as o:
        vin = i.streams.video[0]
        v = o.add_stream("libx264", rate=vin.average_rate or Fraction(25, 1))
        v.width, v.height = size or (vin.width, vin.height)
        v.pix_fmt = "yuv420p"
        v.options = {"crf": str(crf), "preset": "veryfast"}
        ain = i.streams.audio[0] if i.streams.audio else None
        a = o.add_stream_from_template(ain) if ain is not None else None
        for packet in i.demux(*(s for s in (vin, ain) if s is not None)):
            if packet.stream is ain and a is not None:
                if packet.dts is not None:
                    packet.stream = a
                    o.mux(packet)
                continue
            for frame in packet.decode():
                if not isinstance(frame, av.VideoFrame):
                    continue
                out = av.VideoFrame.from_ndarray(fn(frame.to_ndarray(format="rgb24")),
                                                 format="rgb24")
                out.pts, out.time_base = frame.pts, frame.time_base
                for p in v.encode(out):
                    o.mux(p)
        for p in v.encode(None):
            o.mux(p)
    return dst


def mark_and_sign(raw: Path, out: Path, consent_id: str, description: str | None = None,
                  check: Callable[[], None] | None = None) -> Path:
    """A recording written unmarked while it ran (a `chat`, a puppet recording), made an export
    like any other: every frame watermarked — 12 ms a frame, too slow to do in real time — then
    a signed C2PA manifest. `check` (it raises to refuse) runs before the watermark and again
    before signing. `raw` goes in any case; on a failure nothing is left at `out`."""
    from companion.consent import watermark

    try:
        if check is not None:
            check()
        rewrite_frames(raw, out, lambda img: watermark.embed(img, consent_id))
        if check is not None:
            check()
        sign_export(out, consent_id, description)
        return out
    except BaseException:
        out.unlink(missing_ok=True)
        raise
    finally:
        raw.unlink(missing_ok=True)
