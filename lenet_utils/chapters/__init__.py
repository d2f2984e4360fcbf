"""One module per chapter of the book, named after it, holding that chapter's experiments, figures and
widgets: ``background``, ``input_layer``, ``convolution``, ``pooling``, ``fully_connected``,
``activations``, ``innovations``, ``lenet5`` and ``reproduction``.

A chapter module may use the core modules of ``lenet_utils`` (data, layers, models, train, viz, ...);
the core never imports a chapter, and no chapter imports another. Import the one you need, e.g.
``from lenet_utils.chapters import pooling``.
"""
