"""Text datasets (registered by name in ``ktrain.registry.DATASETS``)."""
from .catalog import AG_NEWS, IMDB, SST2, WikiText2, WikiText103
from .classification import EncodedTextDataset, TextClassificationDataset, TextFolder
from .language_modeling import LanguageModelingDataset

__all__ = [
           "AG_NEWS",
           "IMDB",
           "SST2",
           "EncodedTextDataset",
           "LanguageModelingDataset",
           "TextClassificationDataset",
           "TextFolder",
           "WikiText2",
           "WikiText103",
]
