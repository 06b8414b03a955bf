"""Text models (registered by name in ``ktrain.registry.MODELS``)."""
from .blocks import Block, SelfAttention, sinusoidal_positions
from .classifiers import (
                          BagOfWords,
                          RNNClassifier,
                          TextCNN,
                          TransformerClassifier,
                          bigru_classifier,
                          bilstm_classifier,
)
from .gpt import GPT, sample_next

__all__ = ["GPT", "BagOfWords", "Block", "RNNClassifier", "SelfAttention", "TextCNN",
           "TransformerClassifier", "bigru_classifier", "bilstm_classifier", "sample_next",
           "sinusoidal_positions"]
