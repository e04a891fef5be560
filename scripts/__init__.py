"""Experiment drivers: argparse and calls into :mod:`keras_pggan.reports`."""
