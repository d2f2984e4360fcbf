"""lenet_utils: the helper package of The LeNet Book.

Modules, one idea each: ``data`` (MNIST in memory, transforms, batches), ``shapes`` (output-size
formulas, layer tables), ``layers`` (scaled tanh, trainable subsampling), ``models`` (LeNet variants),
``train`` (seeding, devices, Trainer, checkpoints), ``viz`` (figures), ``faithful``/``sdlm``/``distortions``
(the paper-faithful LeNet-5 and its training). Each chapter's own experiments and widgets live in
modules named after the chapter's topic (``baselines``, ``input_layer``, ``pooling``, ``activations``, ...)
and are imported from there, so importing the package stays light.
"""
from .data import DataError, TensorLoader, load_mnist, mnist_loaders, prepare
from .faithful import LeNet5Faithful, MAPLoss, connection_counts
from .layers import ScaledTanh, Subsampling
from .models import MODELS, LeNet5Classic, LeNet5Modern, LeNet5Paper, build_model
from .shapes import conv_output_size, count_parameters, layer_table, pool_output_size
from .train import (CheckpointError, Trainer, get_device, load_checkpoint, save_checkpoint, set_seed,
                    train_model)

__all__ = [
    "DataError", "TensorLoader", "load_mnist", "mnist_loaders", "prepare",
    "LeNet5Faithful", "MAPLoss", "connection_counts",
    "ScaledTanh", "Subsampling",
    "MODELS", "LeNet5Classic", "LeNet5Modern", "LeNet5Paper", "build_model",
    "conv_output_size", "count_parameters", "layer_table", "pool_output_size",
    "CheckpointError", "Trainer", "get_device", "load_checkpoint", "save_checkpoint", "set_seed", "train_model",
]
