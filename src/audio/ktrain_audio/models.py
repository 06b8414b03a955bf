"""Audio models (registered): M5 on raw waveforms, log-mel CNN and ResNet for keyword
spotting, and a small CTC speech recogniser. Every ``forward`` takes ``(x, lengths=None)``
so variable-length batches (``{"x", "lengths"}`` from the datasets' ``collate_fn``) work.

    model = ktrain_audio.models.kws_cnn(num_classes=10)
    logits = model(kt.randn(8, 1, 64, 63))       # log-mel features (B, 1, n_mels, frames)
"""
from __future__ import annotations

import ktrain as kt
import ktrain.nn.functional as F
from ktrain import nn

__all__ = [
    "KWSCNN",
    "M5",
    "CTCRecognizer",
    "KWSResNet",
    "char_error_rate",
    "ctc_recognizer",
    "edit_distance",
    "greedy_decode",
    "kws_cnn",
    "kws_resnet",
    "m5",
]


def _masked_time_mean(h, lengths, total):
    """Mean over the last dim, counting only the valid frames of each example."""
    if lengths is None:
        return h.mean(-1)
    t = h.shape[-1]
    valid = (lengths.to(h.dtype) * (t / total)).ceil().clamp(1, t)
    ar = kt.arange(t, device=h.device).to(h.dtype)
    mask = (ar.reshape(1, t) < valid.reshape(-1, 1)).to(h.dtype)
    mask = mask.reshape((h.shape[0],) + (1,) * (h.dim() - 2) + (t,))
    return (h * mask).sum(-1) / mask.sum(-1)


class M5(nn.Module):
    """Raw-waveform 1-D CNN (Dai et al. 2017, "Very deep CNNs for raw waveforms", M5):
    a wide strided first convolution (80 taps), then three conv-BN-ReLU-maxpool(4) blocks,
    global average pooling over time and a linear classifier.

    Input ``(B, in_channels, time)`` (or ``(B, time)``) at ~8-16 kHz; output logits.
    """

    def __init__(self, num_classes: int = 35, in_channels: int = 1, stride: int = 16,
                 n_channel: int = 32):
        super().__init__()
        c = n_channel

        def block(i, o, k, s=1):
            return [nn.Conv1d(i, o, k, stride=s), nn.BatchNorm1d(o), nn.ReLU(), nn.MaxPool1d(4)]

        self.features = nn.Sequential(*block(in_channels, c, 80, stride), *block(c, c, 3),
                                      *block(c, 2 * c, 3), *block(2 * c, 2 * c, 3))
        self.fc = nn.Linear(2 * c, num_classes)

    def forward(self, x, lengths=None):
        if x.dim() == 2:
            x = x.unsqueeze(1)
        total = x.shape[-1]
        h = self.features(x)
        return self.fc(_masked_time_mean(h, lengths, total))


def m5(num_classes: int = 35, in_channels: int = 1, stride: int = 16, n_channel: int = 32):
    """:class:`M5` (registered as ``m5``)."""
    return M5(num_classes, in_channels, stride, n_channel)


def _conv_bn(i, o, stride=1):
    return [nn.Conv2d(i, o, 3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(o),
            nn.ReLU()]


class KWSCNN(nn.Module):
    """Log-mel 2-D CNN for keyword spotting: input batch-norm (standardises the dB
    features), four conv3x3-BN-ReLU stages of ``width, 2w, 4w, 4w`` channels with 2x2 max
    pooling after the first three, global average pooling (over valid frames when
    ``lengths`` is given), dropout and a linear layer.

    Input ``(B, in_channels, n_mels, frames)`` (or ``(B, n_mels, frames)``).
    """

    def __init__(self, num_classes: int = 10, in_channels: int = 1, width: int = 32,
                 dropout: float = 0.2):
        super().__init__()
        w = width
        self.input_norm = nn.BatchNorm2d(in_channels)
        self.features = nn.Sequential(
            *_conv_bn(in_channels, w), nn.MaxPool2d(2),
            *_conv_bn(w, 2 * w), nn.MaxPool2d(2),
            *_conv_bn(2 * w, 4 * w), nn.MaxPool2d(2),
            *_conv_bn(4 * w, 4 * w))
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(4 * w, num_classes)

    def forward(self, x, lengths=None):
        if x.dim() == 3:
            x = x.unsqueeze(1)
        total = x.shape[-1]
        h = self.features(self.input_norm(x)).mean(-2)       # (B, C, frames')
        return self.fc(self.dropout(_masked_time_mean(h, lengths, total)))


def kws_cnn(num_classes: int = 10, in_channels: int = 1, width: int = 32,
            dropout: float = 0.2):
    """:class:`KWSCNN` (registered as ``kws_cnn``)."""
    return KWSCNN(num_classes, in_channels, width, dropout)


class _Basic(nn.Module):
    def __init__(self, i, o, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(i, o, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(o)
        self.conv2 = nn.Conv2d(o, o, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(o)
        self.downsample = None
        if stride != 1 or i != o:
            self.downsample = nn.Sequential(nn.Conv2d(i, o, 1, stride=stride, bias=False),
                                            nn.BatchNorm2d(o))

    def forward(self, x):
        idt = x if self.downsample is None else self.downsample(x)
        h = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(h)) + idt)


class KWSResNet(nn.Module):
    """Small ResNet on log-mel features (in the spirit of Tang & Lin's res8/res15):
    a stem conv, ``len(blocks)`` stages of basic blocks (channels ``width * 2**i``,
    stride 2 from the second stage), global average pooling, linear."""

    def __init__(self, num_classes: int = 10, in_channels: int = 1, width: int = 16,
                 blocks=(2, 2, 2)):
        super().__init__()
        self.input_norm = nn.BatchNorm2d(in_channels)
        self.stem = nn.Sequential(*_conv_bn(in_channels, width))
        layers, c = [], width
        for i, n in enumerate(blocks):
            o = width * 2 ** i
            for j in range(n):
                layers.append(_Basic(c, o, 2 if (j == 0 and i > 0) else 1))
                c = o
        self.layers = nn.Sequential(*layers)
        self.fc = nn.Linear(c, num_classes)

    def forward(self, x, lengths=None):
        if x.dim() == 3:
            x = x.unsqueeze(1)
        total = x.shape[-1]
        h = self.layers(self.stem(self.input_norm(x))).mean(-2)
        return self.fc(_masked_time_mean(h, lengths, total))


def kws_resnet(num_classes: int = 10, in_channels: int = 1, width: int = 16,
               blocks=(2, 2, 2)):
    """:class:`KWSResNet` (registered as ``kws_resnet``)."""
    return KWSResNet(num_classes, in_channels, width, tuple(blocks))


class CTCRecognizer(nn.Module):
    """Small CTC speech recogniser: a 1-D conv front end over the feature frames
    (``n_feats`` -> ``hidden``, kernel 5, ``stride``), a bidirectional GRU and a linear
    layer to ``num_classes`` (blank = 0) log-probabilities.

    ``forward(x, lengths=None)``: ``x`` ``(B, n_feats, frames)`` (or ``(B, 1, n_feats,
    frames)``) -> log-probs ``(T, B, num_classes)``, CTCLoss's layout;
    :meth:`output_lengths` maps input frame counts to ``T`` counts.
    """

    def __init__(self, num_classes: int, n_feats: int = 64, hidden: int = 128,
                 num_layers: int = 2, stride: int = 2, dropout: float = 0.1):
        super().__init__()
        self.stride = stride
        self.front = nn.Sequential(nn.Conv1d(n_feats, hidden, 5, stride=stride, padding=2),
                                   nn.BatchNorm1d(hidden), nn.ReLU())
        self.rnn = nn.GRU(hidden, hidden, num_layers=num_layers, batch_first=True,
                          bidirectional=True, dropout=dropout if num_layers > 1 else 0.0)
        self.fc = nn.Linear(2 * hidden, num_classes)

    def output_lengths(self, lengths):
        return (lengths + 2 * 2 - 5) // self.stride + 1

    def forward(self, x, lengths=None):
        if x.dim() == 4:
            x = x.squeeze(1)
        h = self.front(x).transpose(1, 2)           # (B, T, hidden)
        h, _ = self.rnn(h)
        return F.log_softmax(self.fc(h), -1).transpose(0, 1)


def ctc_recognizer(num_classes: int = 29, n_feats: int = 64, hidden: int = 128,
                   num_layers: int = 2, stride: int = 2, dropout: float = 0.1):
    """:class:`CTCRecognizer` (registered as ``ctc_recognizer``; 29 = blank + space +
    apostrophe + a-z, :data:`ktrain_audio.datasets.CHARS`)."""
    return CTCRecognizer(num_classes, n_feats, hidden, num_layers, stride, dropout)


def greedy_decode(log_probs, lengths=None, blank: int = 0):
    """Best-path CTC decoding of ``(T, B, C)`` log-probs: argmax per frame, merge repeats,
    drop blanks. Returns a list of ``B`` lists of label ids."""
    import numpy as np

    best = log_probs.detach().argmax(-1).cpu().numpy().T      # (B, T)
    lens = None if lengths is None else np.asarray(
        lengths.cpu().numpy() if isinstance(lengths, kt.Tensor) else lengths)
    out = []
    for b, row in enumerate(best):  # variable-length results: one list per sequence
        row = row[:len(row) if lens is None else int(lens[b])]
        new = np.ones(len(row), bool)
        new[1:] = row[1:] != row[:-1]
        out.append(row[new & (row != blank)].tolist())
    return out


def edit_distance(a, b) -> int:
    """Levenshtein distance between two sequences (one row of the DP table at a time)."""
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        cur = [i]
        for j, y in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y)))
        prev = cur
    return prev[-1]


def char_error_rate(predictions, references) -> float:
    """Total edit distance over total reference length (sequences of labels or str)."""
    errors = sum(edit_distance(p, r) for p, r in zip(predictions, references))
    total = sum(len(r) for r in references)
    return errors / max(total, 1)
