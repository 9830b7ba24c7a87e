"""Where a model runs: the one device and dtype picker for generation and the ladder,
and the matmul rate that a run's achieved FLOP/s is compared against."""

from __future__ import annotations

import time

from scalelaw.errors import DataError


class DeviceError(DataError):
    """A configured device that this machine does not have."""


def resolve_device(device: str | None = "auto", key: str = "device") -> str:
    """``auto`` becomes ``cuda`` when torch sees a GPU, else ``cpu``; ``cuda[:N]`` without
    a GPU is an error that names the config ``key``."""
    import torch

    if device in (None, "", "auto"):
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise DeviceError(f"{key} is {device!r} but torch sees no CUDA device")
    return device


def resolve_dtype(dtype: str | None, device: str, *, training: bool = False) -> str:
    """The dtype name for ``auto``: float32 on CPU; bfloat16 on a GPU that has it. Without
    bfloat16 a GPU generates in float16 but trains in float32 (float16 training would need
    loss scaling)."""
    if dtype not in (None, "", "auto"):
        return dtype
    if device.startswith("cuda"):
        import torch

        if torch.cuda.is_bf16_supported():
            return "bfloat16"
        return "float32" if training else "float16"
    return "float32"


def torch_dtype(name: str):
    import torch

    return getattr(torch, name)


def sync(device: str) -> None:
    """Wait for queued GPU work, so that a timer measures it."""
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()


def matmul_gflops(device: str = "cpu", dtype: str = "float32", n: int = 1024, min_seconds: float = 0.3) -> float:
    """Measured GFLOP/s of an n x n matmul in this process: the machine's matmul limit that
    a run's achieved FLOP/s is compared against (use n >= 4096 on a GPU, where a small
    product measures launch latency)."""
    import torch

    tdtype = getattr(torch, dtype)
    a = torch.randn(n, n, device=device).to(tdtype)
    b = torch.randn(n, n, device=device).to(tdtype)
    for _ in range(3):
        a @ b
    sync(device)
    reps, start = 0, time.perf_counter()
    while True:
        a @ b
        reps += 1
        if reps % 4 == 0:
            sync(device)
            elapsed = time.perf_counter() - start
            if elapsed >= min_seconds:
                return 2 * n**3 * reps / elapsed / 1e9
