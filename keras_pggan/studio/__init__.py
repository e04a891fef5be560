"""The inpainting studio: a local web page to paint over what should go and see it filled.

Example:
    python -m keras_pggan.studio                         # the shipped model, http://127.0.0.1:7860
    python -m keras_pggan.studio --model runs/x/generator.keras --port 0

- :mod:`~keras_pggan.studio.app`: ``create_app(inpainter, ...)``, the editor's FastAPI app
  (a canvas page shipped in ``static/``; no request leaves 127.0.0.1).
- :mod:`~keras_pggan.studio.web`: :func:`~keras_pggan.studio.web.serve`,
  :class:`~keras_pggan.studio.web.BackgroundServer` and the upload limits, shared by the apps.
- ``python -m keras_pggan.studio`` (``__main__``): the command line; ``study`` and ``report``
  sub-commands run the blind perceptual study (voting page and its report).

Importing this package imports nothing heavy (no FastAPI, no TensorFlow). The web stack is the
``[studio]`` extra. See docs/studio.md.
"""
