"""Inference: the one fill (pad → [-1,1] → generator → crop → composite), runners for Keras,
SavedModel and TFLite files, hole regions of large photos, :class:`Inpainter`, and Neural Patch
Synthesis's refinement of a fill.
"""
