"""Networks: layers, the PGGAN generator and discriminator, the paper's baselines (Context
Encoder, GLGAN), the variant registry, FLOP counts and loading of saved generators.

Nothing here trains or serves; every later room (inference, training, export) builds on it.
"""
