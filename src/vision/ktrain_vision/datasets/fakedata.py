"""FakeData: random images and labels, deterministic per index (for smoke tests)."""
from __future__ import annotations

import numpy as np
from PIL import Image

from ._base import VisionDataset, check_split

__all__ = ["FakeData"]

_SPLIT_ID = {None: 0, "train": 0, "val": 1, "test": 2}


class FakeData(VisionDataset):
    """``size`` random uint8 images of ``image_size = (C, H, W)`` (C = 1 or 3, as PIL 'L' or
    'RGB') with labels in ``[0, num_classes)``. Sample ``i`` is drawn from a numpy
    generator seeded with ``(random_offset, split, i)``, so it never depends on the
    global RNG; the ``train``/``val``/``test`` splits draw disjoint streams.

        ds = FakeData(size=100, image_size=(3, 32, 32), transform=["to_tensor"])
    """

    def __init__(self, size=1000, image_size=(3, 224, 224), num_classes=10, transform=None,
                 target_transform=None, random_offset=0, *, split=None, train_transform=None,
                 batch_transform=None):
        self.split = None if split is None else check_split(split, owner="FakeData")
        super().__init__(None, transform, target_transform,
                         train_data=self.split in (None, "train"),
                         train_transform=train_transform, batch_transform=batch_transform)
        image_size = tuple(int(v) for v in image_size)
        if len(image_size) != 3 or image_size[0] not in (1, 3):
            raise ValueError(f"FakeData: image_size must be (C, H, W) with C in (1, 3), got "
                             f"{image_size}")
        if size < 0 or num_classes < 1:
            raise ValueError(f"FakeData: need size >= 0 and num_classes >= 1, got {size}, "
                             f"{num_classes}")
        self.size = int(size)
        self.image_size = image_size  # torchvision's (C, H, W) argument
        self.image_mode = "L" if image_size[0] == 1 else "RGB"
        self.image_hw = image_size[1:]
        self.random_offset = int(random_offset)
        self._sid = _SPLIT_ID[self.split]
        rng = np.random.default_rng([self.random_offset, self._sid, 1 << 30])
        self.targets = rng.integers(0, num_classes, self.size).tolist()
        self.classes = [str(i) for i in range(num_classes)]
        self._finish()

    def _sample(self, index):
        if not -self.size <= index < self.size:
            raise IndexError(f"FakeData index {index} out of range for size {self.size}")
        index %= self.size
        c, h, w = self.image_size
        rng = np.random.default_rng([self.random_offset, self._sid, index])
        a = rng.integers(0, 256, (h, w, c), dtype=np.uint8)
        return Image.fromarray(a[:, :, 0] if c == 1 else a), self.targets[index]

    def __len__(self):
        return self.size
