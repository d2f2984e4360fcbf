"""The command-line entry points, one module each (``python -m lenet_utils.cli.<name> --help``):

- ``reproduce``: train the paper-faithful LeNet-5 (chapter 9) and write ``results/reproduction/``;
- ``variants``: train chapter 8's three LeNets and write ``results/variants/``;
- ``baselines``: run chapter 1's hand-made-feature pipelines and write ``results/baselines.json``;
- ``bench``: the data path, training and evaluation speed, and the Trainer's own cost;
- ``export``: the trained models and test digits that the site's LeNet explorer page runs.
"""
