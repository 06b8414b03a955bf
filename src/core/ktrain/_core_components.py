"""The core's entries in the registries of :mod:`ktrain.registry`: names, aliases and tags.

Every target is a lazy ``"module:attr"`` string, so filling the registries imports
nothing. Aliases are registered explicitly (``ce``, ``steplr``, ``mae`` ...); tags name
the built-in tasks a loss or metric fits (``classification``/``regression``: what
:class:`~ktrain.train.ClassificationTask` and :class:`~ktrain.train.RegressionTask`
accept). ``bce`` is ``BCELoss`` (it expects probabilities), as in PyTorch; logits take
``bce_with_logits``.
"""
from __future__ import annotations

from .registry import (CALLBACKS, DATASETS, LOGGERS, LOSSES, METRICS, MODELS, OPTIMIZERS,
                       PREDICT_READERS, SCHEDULERS, TASKS, Registry)

_CORE = "ktrain core"


def _core(reg: Registry, table: dict) -> None:
    """``name: target`` or ``name: (target, aliases, tags)``."""
    for name, spec in table.items():
        target, aliases, tags = (spec, (), ()) if isinstance(spec, str) else spec
        reg.register(name, target, aliases=aliases, tags=tags, _origin=_CORE)


# ``bce`` is BCELoss (probabilities), as in PyTorch; logits take ``bce_with_logits``.
# Tags name the built-in tasks a loss or metric fits.
_L = "ktrain.nn.modules.loss:"
_CLS, _REG = ("classification",), ("regression",)
_core(LOSSES, {
    "cross_entropy": (_L + "CrossEntropyLoss", ("ce",), _CLS),
    "nll": (_L + "NLLLoss", ("nll_loss",), _CLS),
    "mse": (_L + "MSELoss", ("mse_loss",), _REG),
    "l1": (_L + "L1Loss", ("l1_loss", "mae"), _REG),
    "bce": (_L + "BCELoss", ("binary_cross_entropy",), ()),
    "bce_with_logits": (_L + "BCEWithLogitsLoss", ("binary_cross_entropy_with_logits",), _CLS),
    "smooth_l1": (_L + "SmoothL1Loss", ("smooth_l1_loss",), _REG),
    "huber": (_L + "HuberLoss", ("huber_loss",), _REG),
    "kl_div": _L + "KLDivLoss",
    "cosine_embedding": _L + "CosineEmbeddingLoss",
    "margin_ranking": _L + "MarginRankingLoss", "hinge_embedding": _L + "HingeEmbeddingLoss",
    "triplet_margin": _L + "TripletMarginLoss", "soft_margin": _L + "SoftMarginLoss",
    "multilabel_soft_margin": _L + "MultiLabelSoftMarginLoss",
    "gaussian_nll": _L + "GaussianNLLLoss", "poisson_nll": _L + "PoissonNLLLoss",
    "ctc": _L + "CTCLoss",
})
_core(OPTIMIZERS, {  # class names (Adam, SGD ...) match in the loose form
    "sgd": "ktrain.optim:SGD", "adam": "ktrain.optim:Adam", "adamw": "ktrain.optim:AdamW",
    "adagrad": "ktrain.optim:Adagrad", "adadelta": "ktrain.optim:Adadelta",
    "adamax": "ktrain.optim:Adamax", "nadam": "ktrain.optim:NAdam",
    "radam": "ktrain.optim:RAdam", "rmsprop": "ktrain.optim:RMSprop",
    "lbfgs": "ktrain.optim:LBFGS",
})
_S = "ktrain.optim.lr_scheduler:"
_core(SCHEDULERS, {  # aliases: the class names' loose forms (StepLR -> steplr)
    "step": (_S + "StepLR", ("steplr",), ()),
    "multistep": (_S + "MultiStepLR", ("multisteplr",), ()),
    "exponential": (_S + "ExponentialLR", ("exponentiallr",), ()),
    "cosine": (_S + "CosineAnnealingLR", ("cosineannealinglr", "cosineannealing"), ()),
    "cosine_warm_restarts": (_S + "CosineAnnealingWarmRestarts",
                             ("cosineannealingwarmrestarts",), ()),
    "onecycle": (_S + "OneCycleLR", ("onecyclelr",), ()),
    "cyclic": (_S + "CyclicLR", ("cycliclr",), ()),
    "linear": (_S + "LinearLR", ("linearlr",), ()),
    "constant": (_S + "ConstantLR", ("constantlr",), ()),
    "polynomial": (_S + "PolynomialLR", ("polynomiallr",), ()),
    "plateau": (_S + "ReduceLROnPlateau", ("reducelronplateau",), ()),
    "lambda": (_S + "LambdaLR", ("lambdalr",), ()),
    "multiplicative": (_S + "MultiplicativeLR", ("multiplicativelr",), ()),
    "sequential": (_S + "SequentialLR", ("sequentiallr",), ()),
    "chained": (_S + "ChainedScheduler", ("chainedscheduler",), ()),
})


def _root_mean_squared_error(**kwargs):
    """``MeanSquaredError(squared=False)``: the metric ``rmse``."""
    from .metrics import MeanSquaredError

    return MeanSquaredError(squared=False, **kwargs)


_M = "ktrain.metrics:"
_MACRO = _CLS + ("macro",)  # ClassificationTask averages these over classes (macro)
_core(METRICS, {
    "accuracy": (_M + "Accuracy", ("acc",), _CLS),
    "precision": (_M + "Precision", (), _MACRO), "recall": (_M + "Recall", (), _MACRO),
    "f1": (_M + "F1Score", ("f1_score",), _MACRO),
    "fbeta": _M + "FBetaScore", "confusion_matrix": _M + "ConfusionMatrix",
    "auroc": (_M + "AUROC", (), _CLS), "mse": (_M + "MeanSquaredError", (), _REG),
    "rmse": ("ktrain._core_components:_root_mean_squared_error", (), _REG),
    "mae": (_M + "MeanAbsoluteError", (), _REG),
    "perplexity": _M + "Perplexity",
})
_C = "ktrain.train.callbacks:"
_core(CALLBACKS, {
    "model_checkpoint": _C + "ModelCheckpoint", "early_stopping": _C + "EarlyStopping",
    "lr_monitor": _C + "LearningRateMonitor", "grad_norm": _C + "GradientNormMonitor",
    "timer": _C + "Timer", "progress_bar": _C + "ProgressBar", "nan_guard": _C + "NaNGuard",
    "plots": _C + "PlotCallback",
})
_G = "ktrain.train.loggers:"
_core(LOGGERS, {"csv": _G + "CSVLogger", "jsonl": _G + "JSONLLogger",
                "tensorboard": _G + "TensorBoardLogger"})
_core(TASKS, {"classification": "ktrain.train:ClassificationTask",
              "regression": "ktrain.train:RegressionTask"})
_core(MODELS, {"mlp": "ktrain.models:MLP", "tiny_cnn": "ktrain.models:TinyCNN"})
_core(DATASETS, {"synthetic_classification": "ktrain.datasets:synthetic_classification",
                 "synthetic_regression": "ktrain.datasets:synthetic_regression"})
_E = "ktrain.app.readers:"
_core(PREDICT_READERS, {".npy": _E + "_read_npy", ".csv": _E + "_read_csv"})
