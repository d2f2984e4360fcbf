"""lenet_utils: the helper package of The LeNet Book.

The core, one idea per module, is what a reader could copy into a project of their own:
``data`` (MNIST in memory, transforms, batches, the data root), ``layers`` (every custom LeNet layer),
``models`` (every LeNet variant, in one registry), ``shapes`` (output-size formulas, receptive fields,
layer tables), ``train`` (seeding, devices, Trainer, evaluation, checkpoints), ``viz`` (figures),
``widgets`` (interactive figures), ``tables`` (Markdown tables), ``sdlm`` and ``distortions`` (the
paper's training), ``paper`` (numbers quoted from the 1998 paper).

``lenet_utils.chapters`` holds one module per chapter (its experiments, figures and widgets), and
``lenet_utils.cli`` the command-line entry points (``python -m lenet_utils.cli.reproduce`` ...). The core
never imports them, so importing the package stays light.
"""
from .data import DataError, TensorLoader, load_mnist, mnist_loaders, prepare
from .layers import EuclideanRBF, ScaledTanh, SparseConv2d, Subsampling
from .models import MODELS, LeNet5Classic, LeNet5Faithful, LeNet5Modern, LeNet5Paper, MAPLoss, build_model
from .shapes import conv_output_size, count_parameters, layer_table, pool_output_size
from .train import (CheckpointError, Trainer, get_device, load_checkpoint, save_checkpoint, set_seed,
                    train_model)

__all__ = [
    "DataError", "TensorLoader", "load_mnist", "mnist_loaders", "prepare",
    "EuclideanRBF", "ScaledTanh", "SparseConv2d", "Subsampling",
    "MODELS", "LeNet5Classic", "LeNet5Faithful", "LeNet5Modern", "LeNet5Paper", "MAPLoss", "build_model",
    "conv_output_size", "count_parameters", "layer_table", "pool_output_size",
    "CheckpointError", "Trainer", "get_device", "load_checkpoint", "save_checkpoint", "set_seed", "train_model",
]
