"""Keras front end: plain-data network specs (``spec``), Keras builders (``blocks``), reference
constructors (``zoo``), analytic MACs / params / activation sizes (``count``).

``spec``, ``zoo`` and ``count`` import neither Keras nor TensorFlow.
"""
