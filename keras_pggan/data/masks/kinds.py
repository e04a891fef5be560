"""Mask kind names (no TensorFlow: the CLI's --help and the package import read them)."""

KINDS = ("center", "rect", "freeform", "thin", "medium", "thick", "folder")
STROKE_KINDS = ("freeform", "thin", "medium", "thick")
MASK_FILE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".webp")
