"""The CPU budget is applied to the libraries that keep their own thread pools."""

from __future__ import annotations

import cv2
import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

from companion.cpu import apply_budget, budget


def test_apply_budget_leaves_one_blas_and_one_opencv_thread() -> None:
    np.ones((64, 64)) @ np.ones((64, 64))  # numpy's OpenBLAS is loaded and has its pool
    with threadpool_limits(2, user_api="blas"):  # undone when the test ends
        apply_budget(budget(cores=2))
        blas = [p for p in threadpool_info() if p["user_api"] == "blas"]
        assert blas, "numpy's OpenBLAS was not found"
        assert {p["num_threads"] for p in blas} == {1}
        assert cv2.getNumThreads() == 1
