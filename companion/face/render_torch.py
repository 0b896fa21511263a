"""Torch renderer: the same piecewise-affine warp, batched across frames (and sessions) on CUDA.

Rasterisation is done with tile binning instead of a per-triangle loop: for each 16×16 tile of
the half-resolution map, the last-drawn triangles that overlap it are gathered, and every pixel
tests those candidates with edge functions. The map is then upsampled and applied with
grid_sample. Mouth interior and eyelids are painted on the CPU afterwards (small patches).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from companion.errors import ConsentError, ModelError
from companion.face.interior import Painter, iris_radius
from companion.face.params import EXPRESSION, INDEX
from companion.face.rig import Rig

TILE = 16
CANDIDATES = 96


def _torch() -> Any:
    try:
        import torch
    except ImportError as e:
        raise ModelError("the torch renderer needs PyTorch",
                         "pip install 'companion[gpu]' (torch==2.13.0)") from e
    return torch


class TorchRenderer:
    def __init__(self, rig: Rig, device: str | None = None) -> None:
        if not rig.consent_id:
            raise ConsentError("this rig carries no consent record; refusing to render")
        torch = _torch()
        self.torch = torch
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        dev = self.device
        self.rig = rig
        self.size = rig.size
        f32 = torch.float32
        self.src3 = torch.tensor(rig.vertices, dtype=f32, device=dev)
        self.basis = torch.tensor(rig.basis.reshape(len(EXPRESSION), -1), dtype=f32, device=dev)
        self.weight = torch.tensor(rig.head_weight, dtype=f32, device=dev)
        self.pivot = torch.tensor(rig.pivot, dtype=f32, device=dev)
        n = len(rig.vertices)
        # Draw order as on the CPU: hole triangles first (indices into the hole vertex set),
        # then the main mesh far to near (indices offset by n into the main vertex set).
        tris = np.concatenate([rig.hole_triangles, rig.triangles + n]).astype(np.int64)
        self.tris = torch.tensor(tris, device=dev)
        src2 = np.concatenate([rig.vertices[:, :2], rig.vertices[:, :2]])[tris]
        self.src_tri = torch.tensor(src2, dtype=f32, device=dev)  # (T, 3, 2)
        self.image = torch.tensor(rig.image, device=dev).permute(2, 0, 1).float()[None]
        self.iris_r = iris_radius(rig.landmarks)
        half = self.size // 2 + 1  # one sample past the edge, as on the CPU
        self.half = half
        self.tiles = (half + TILE - 1) // TILE
        ys, xs = torch.meshgrid(torch.arange(half, device=dev, dtype=f32),
                                torch.arange(half, device=dev, dtype=f32), indexing="ij")
        # pixel centres of the half-resolution grid in full-resolution coordinates
        self.gx = 2.0 * xs + 0.5
        self.gy = 2.0 * ys + 0.5
        self.painter = Painter(rig)

    def _rigid(self, v: Any, head: Any) -> Any:
        torch = self.torch
        yaw, pitch, roll, tx, ty, scale = (head[:, i] for i in range(6))
        cy, sy, cp, sp = torch.cos(yaw), torch.sin(yaw), torch.cos(pitch), torch.sin(pitch)
        cr, sr = torch.cos(roll), torch.sin(roll)
        zero, one = torch.zeros_like(yaw), torch.ones_like(yaw)
        ry = torch.stack([cy, zero, sy, zero, one, zero, -sy, zero, cy], -1).view(-1, 3, 3)
        rx = torch.stack([one, zero, zero, zero, cp, -sp, zero, sp, cp], -1).view(-1, 3, 3)
        rz = torch.stack([cr, -sr, zero, sr, cr, zero, zero, zero, one], -1).view(-1, 3, 3)
        r = rz @ ry @ rx
        q = (v - self.pivot) @ r.transpose(1, 2) * (1.0 + scale)[:, None, None] + self.pivot
        moved = q[..., :2] + torch.stack([tx, ty], -1)[:, None, :] * self.rig.iod
        return v[..., :2] + self.weight[None, :, None] * (moved - v[..., :2])

    def vertices(self, params: Any) -> tuple[Any, Any]:
        torch = self.torch
        p = params
        b = p.shape[0]
        expr = p[:, : len(EXPRESSION)]
        v = self.src3.expand(b, -1, -1).clone()
        v[..., :2] += (expr @ self.basis).view(b, -1, 2)
        head = p[:, INDEX["yaw"]: INDEX["scale"] + 1]
        main = self._rigid(v, head)
        h = self.src3.expand(b, -1, -1).clone()
        gaze = torch.clamp(p[:, [INDEX["gaze_x"], INDEX["gaze_y"]]], -0.7, 0.7)
        h[:, 468:478, :2] += gaze[:, None, :] * self.iris_r
        hole = self._rigid(h, head)
        return main, hole

    def render_batch(self, params: np.ndarray) -> np.ndarray:
        """(B, P) parameters → (B, S, S, 3) uint8 frames."""
        torch = self.torch
        with torch.no_grad():
            p = torch.as_tensor(np.asarray(params, np.float32), device=self.device)
            main, hole = self.vertices(p)
            frames = self._warp(main, hole)
            out = (frames.permute(0, 2, 3, 1).round().clamp(0, 255).to(torch.uint8)
                   .contiguous().cpu().numpy())
            main_np = main.cpu().numpy()
            hole_np = hole.cpu().numpy()
        for i in range(len(out)):
            row = np.asarray(params[i])
            self.painter.mouth(out[i], main_np[i], row)
            self.painter.eyelids(out[i], main_np[i], hole_np[i], row)
        return out

    def _warp(self, main: Any, hole: Any) -> Any:
        torch = self.torch
        f = torch.nn.functional
        b = main.shape[0]
        verts = torch.cat([hole, main], dim=1)  # (B, 2N, 2)
        dst = verts[:, self.tris]  # (B, T, 3, 2)
        coef = self._affines(dst)  # (B, T, 6)
        t_count = dst.shape[1]
        # Tile binning on the half-resolution grid.
        hd = (dst - 0.5) / 2.0  # half-res coordinates
        lo = hd.amin(dim=2)
        hi = hd.amax(dim=2)
        tile_idx = torch.arange(self.tiles, device=self.device, dtype=torch.float32) * TILE
        tx0 = tile_idx[None, None, :]
        ox = (hi[..., 0:1] >= tx0 - 1) & (lo[..., 0:1] <= tx0 + TILE)  # (B, T, tiles)
        oy = (hi[..., 1:2] >= tx0 - 1) & (lo[..., 1:2] <= tx0 + TILE)
        overlap = oy[:, :, :, None] & ox[:, :, None, :]  # (B, T, ty, tx)
        overlap = overlap.view(b, t_count, -1).transpose(1, 2)  # (B, tiles², T)
        order = torch.arange(1, t_count + 1, device=self.device, dtype=torch.float32)
        k = min(CANDIDATES, t_count)
        score, cand = torch.topk(overlap.float() * order, k, dim=2)  # last drawn first
        valid = score > 0
        # Pixels grouped by tile.
        nt = self.tiles
        pad = nt * TILE - self.half
        gx = f.pad(self.gx, (0, pad, 0, pad), value=-1e6)
        gy = f.pad(self.gy, (0, pad, 0, pad), value=-1e6)
        px = gx.view(nt, TILE, nt, TILE).permute(0, 2, 1, 3).reshape(nt * nt, TILE * TILE)
        py = gy.view(nt, TILE, nt, TILE).permute(0, 2, 1, 3).reshape(nt * nt, TILE * TILE)
        tri = torch.gather(dst.view(b, 1, t_count, 6).expand(-1, nt * nt, -1, -1), 2,
                           cand[..., None].expand(-1, -1, -1, 6))  # (B, tiles², K, 6)
        x = px[None, :, :, None]
        y = py[None, :, :, None]
        ax, ay, bx, by, cx, cy = (tri[..., i][:, :, None, :] for i in range(6))
        e0 = (bx - ax) * (y - ay) - (by - ay) * (x - ax)
        e1 = (cx - bx) * (y - by) - (cy - by) * (x - bx)
        e2 = (ax - cx) * (y - cy) - (ay - cy) * (x - cx)
        eps = 1e-3
        inside = ((e0 >= -eps) & (e1 >= -eps) & (e2 >= -eps)) | \
                 ((e0 <= eps) & (e1 <= eps) & (e2 <= eps))
        inside &= valid[:, :, None, :]
        any_in = inside.any(dim=3)
        first = inside.float().argmax(dim=3)  # highest draw order that contains the pixel
        chosen = torch.gather(cand, 2, first)  # (B, tiles², TILE²)
        c = torch.gather(coef, 1, chosen.view(b, -1, 1).expand(-1, -1, 6)).view(
            b, nt * nt, TILE * TILE, 6)
        mx = c[..., 0] * px + c[..., 1] * py + c[..., 2]
        my = c[..., 3] * px + c[..., 4] * py + c[..., 5]
        mx = torch.where(any_in, mx, px.expand_as(mx))
        my = torch.where(any_in, my, py.expand_as(my))

        def untile(m: Any) -> Any:
            g = m.view(b, nt, nt, TILE, TILE).permute(0, 1, 3, 2, 4)
            return g.reshape(b, nt * TILE, nt * TILE)[:, : self.half, : self.half]

        grid = torch.stack([untile(mx), untile(my)], dim=1)  # (B, 2, half, half)
        grid = f.interpolate(grid, size=(2 * self.half, 2 * self.half), mode="bilinear",
                             align_corners=False)[:, :, : self.size, : self.size]
        norm = (grid + 0.5) / self.size * 2.0 - 1.0
        img = self.image.expand(b, -1, -1, -1)
        return f.grid_sample(img, norm.permute(0, 2, 3, 1), mode="bilinear",
                             padding_mode="reflection", align_corners=False)

    def _affines(self, dst: Any) -> Any:
        torch = self.torch
        s = self.src_tri
        x0, y0 = dst[..., 0, 0], dst[..., 0, 1]
        dx1, dy1 = dst[..., 1, 0] - x0, dst[..., 1, 1] - y0
        dx2, dy2 = dst[..., 2, 0] - x0, dst[..., 2, 1] - y0
        u0, v0 = s[:, 0, 0], s[:, 0, 1]
        du1, dv1 = s[:, 1, 0] - u0, s[:, 1, 1] - v0
        du2, dv2 = s[:, 2, 0] - u0, s[:, 2, 1] - v0
        det = dx1 * dy2 - dx2 * dy1
        ok = det.abs() > 1e-4
        inv = torch.where(ok, 1.0 / torch.where(ok, det, torch.ones_like(det)),
                          torch.zeros_like(det))
        a = torch.where(ok, (du1 * dy2 - du2 * dy1) * inv, torch.ones_like(det))
        bb = torch.where(ok, (du2 * dx1 - du1 * dx2) * inv, torch.zeros_like(det))
        d = torch.where(ok, (dv1 * dy2 - dv2 * dy1) * inv, torch.zeros_like(det))
        e = torch.where(ok, (dv2 * dx1 - dv1 * dx2) * inv, torch.ones_like(det))
        c = u0 - a * x0 - bb * y0
        ff = v0 - d * x0 - e * y0
        return torch.stack([a, bb, c, d, e, ff], dim=-1)
