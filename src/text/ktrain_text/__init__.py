"""ktrain-text: tokenizers, vocabularies, word vectors, datasets, models and a
language-modeling task for ktrain (in the spirit of torchtext).

Installed, it registers its components through the ``ktrain.plugins`` entry point::

    model: {name: textcnn, vocab_size: ..., num_classes: 2}
    data: {name: text_classification, files: [a.tsv, b.tsv]}
    task: {type: language_modeling}

Library use::

    from ktrain_text import get_tokenizer, build_vocab_from_iterator, GPT
"""
from __future__ import annotations

__version__ = "0.1.0"

_EXPORTS = {
    "CharTokenizer": "tokenizers", "WhitespaceTokenizer": "tokenizers",
    "RegexTokenizer": "tokenizers", "SubwordTokenizer": "tokenizers",
    "basic_english": "tokenizers", "get_tokenizer": "tokenizers",
    "Vocab": "vocab", "build_vocab_from_iterator": "vocab",
    "WordEncoder": "encoding", "build_encoder": "encoding", "load_encoder": "encoding",
    "Vectors": "vectors", "load_vectors": "vectors", "embedding_from_vectors": "vectors",
    "PadCollate": "collate", "BucketBatchSampler": "collate", "pad_batch": "collate",
    "TextClassificationDataset": "datasets", "TextFolder": "datasets",
    "LanguageModelingDataset": "datasets", "AG_NEWS": "datasets", "IMDB": "datasets",
    "SST2": "datasets", "WikiText2": "datasets", "WikiText103": "datasets",
    "BagOfWords": "models", "TextCNN": "models", "RNNClassifier": "models", "TransformerClassifier": "models",
    "GPT": "models", "bilstm_classifier": "models", "bigru_classifier": "models",
    "LanguageModelingTask": "tasks",
}

__all__ = [
    "AG_NEWS",
    "GPT",
    "IMDB",
    "SST2",
    "BagOfWords",
    "BucketBatchSampler",
    "CharTokenizer",
    "LanguageModelingDataset",
    "LanguageModelingTask",
    "PadCollate",
    "RNNClassifier",
    "RegexTokenizer",
    "SubwordTokenizer",
    "TextCNN",
    "TextClassificationDataset",
    "TextFolder",
    "TransformerClassifier",
    "Vectors",
    "Vocab",
    "WhitespaceTokenizer",
    "WikiText2",
    "WikiText103",
    "WordEncoder",
    "basic_english",
    "bigru_classifier",
    "bilstm_classifier",
    "build_encoder",
    "build_vocab_from_iterator",
    "embedding_from_vectors",
    "get_tokenizer",
    "load_encoder",
    "load_vectors",
    "pad_batch",
    "register",
]


def __getattr__(name):
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module 'ktrain_text' has no attribute {name!r}")


_M = "ktrain_text.models:"
_D = "ktrain_text.datasets:"
MODELS = {
    "bag_of_words": _M + "BagOfWords", "textcnn": _M + "TextCNN", "text_cnn": _M + "TextCNN",
    "rnn_classifier": _M + "RNNClassifier", "lstm_classifier": _M + "bilstm_classifier",
    "bilstm_classifier": _M + "bilstm_classifier", "bigru_classifier": _M + "bigru_classifier",
    "transformer_classifier": _M + "TransformerClassifier",
    "gpt": _M + "GPT", "char_gpt": _M + "GPT",
}
DATASETS = {
    "text_classification": _D + "TextClassificationDataset", "text_folder": _D + "TextFolder",
    "language_modeling": _D + "LanguageModelingDataset", "ag_news": _D + "AG_NEWS",
    "imdb": _D + "IMDB", "sst2": _D + "SST2", "wikitext2": _D + "WikiText2",
    "wikitext103": _D + "WikiText103",
}


def register(registries) -> None:
    """The ``ktrain.plugins`` entry point: models, datasets, the language-modeling task
    and the ``:text`` predict reader."""
    registries.register_tables(
        models=MODELS, datasets=DATASETS,
        tasks={"language_modeling": "ktrain_text.tasks:LanguageModelingTask"})
    from .predict import register_readers

    register_readers(registries)
