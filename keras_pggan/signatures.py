"""Names of the exported model's signatures, inputs and outputs: defined once, used everywhere.

The SavedModel (``keras_pggan.export``), its TFLite builds (``keras_pggan.export.tflite``), the
serving
clients and the local protocol server (``keras_pggan.serving``) import these; TF Serving users
see them in ``saved_model_cli show``. Changing one is a breaking change for every deployed client.

- ``serving_default``: ``image`` float32 [B,H,W,3] in [0,1], ``mask`` float32 [B,H,W,1]
  (1 = hole) → ``inpainted`` float32 [B,H,W,3] in [0,1], composited.
- ``serving_bytes``: ``image_bytes``, ``mask_bytes`` string [B] (encoded files, the mask with the
  file convention of :mod:`keras_pggan.data.imageio`) → ``inpainted_png_bytes`` string [B].
"""

DEFAULT_SIGNATURE = "serving_default"
BYTES_SIGNATURE = "serving_bytes"
IMAGE, MASK, OUTPUT = "image", "mask", "inpainted"
IMAGE_BYTES, MASK_BYTES, OUTPUT_PNG = "image_bytes", "mask_bytes", "inpainted_png_bytes"
INPUTS = {DEFAULT_SIGNATURE: (IMAGE, MASK), BYTES_SIGNATURE: (IMAGE_BYTES, MASK_BYTES)}
OUTPUTS = {DEFAULT_SIGNATURE: (OUTPUT,), BYTES_SIGNATURE: (OUTPUT_PNG,)}
