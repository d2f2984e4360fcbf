"""lenet_utils: the helper package of The LeNet Book.

Modules, one idea each: ``data`` (MNIST in memory, transforms, batches), ``shapes`` (output-size
formulas, layer tables), ``layers`` (scaled tanh, trainable subsampling), ``models`` (LeNet variants),
``train`` (seeding, devices, Trainer, checkpoints), ``viz`` (figures), ``widgets`` (ipywidgets wrappers).
"""
from .data import DataError, TensorLoader, load_mnist, mnist_loaders, prepare
from .layers import ScaledTanh, Subsampling
from .models import MODELS, LeNet5Classic, LeNet5Modern, LeNet5Paper, build_model
from .shapes import conv_output_size, count_parameters, layer_table, pool_output_size
from .train import (CheckpointError, Trainer, get_device, load_checkpoint, save_checkpoint, set_seed,
                    train_model)

__all__ = [
    "DataError", "TensorLoader", "load_mnist", "mnist_loaders", "prepare",
    "ScaledTanh", "Subsampling",
    "MODELS", "LeNet5Classic", "LeNet5Modern", "LeNet5Paper", "build_model",
    "conv_output_size", "count_parameters", "layer_table", "pool_output_size",
    "CheckpointError", "Trainer", "get_device", "load_checkpoint", "save_checkpoint", "set_seed", "train_model",
]
