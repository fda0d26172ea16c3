"""The original's input: each slot's frame, its pixels as they are (in [0, 1])."""

from __future__ import annotations

from typing import Any

import numpy as np

from .layout import InputLayout

NAME = "frame"


class Passthrough:
    """The frame layout's rows of a stream: the frames themselves, nothing held back."""

    def push(self, frames: np.ndarray) -> np.ndarray:
        return np.asarray(frames, dtype=np.float32)

    def finish(self) -> np.ndarray:
        return np.empty((0, 0), np.float32)


class Frame(InputLayout):
    name = NAME

    def units(self, pixels: int) -> int:
        return pixels

    def what(self, pixels: int) -> str:
        return f"each {pixels}-pixel frame"

    def rows(self, frames: np.ndarray, clip_starts: list[int]) -> np.ndarray:
        del clip_starts
        return frames

    def stream(self) -> Passthrough:
        return Passthrough()

    def convention(self, picture: dict[str, Any]) -> dict[str, Any]:
        return dict(picture, layout=NAME)  # one frame per row, row-major pixels


LAYOUT = Frame()
