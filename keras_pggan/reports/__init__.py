"""Reports: the model card (read and written in one module) and the experiment runners behind
the tables in docs/ (paper table, ablations, training recipes, checkpoint comparison).

- :mod:`~keras_pggan.reports.model_card`: ``model_card.json`` / ``MODEL_CARD.md``, and the
  lineage a warm start reads back; :mod:`~keras_pggan.reports.ship` makes a card
  (``python -m keras_pggan.ship``) from a run's chain (:mod:`~keras_pggan.reports.lineage`).
- :mod:`~keras_pggan.reports.paper_table`, :mod:`~keras_pggan.reports.paper_table_512`,
  :mod:`~keras_pggan.reports.ablation`, :mod:`~keras_pggan.reports.training_recipe`,
  :mod:`~keras_pggan.reports.checkpoints`: the runners the ``scripts/`` drivers call;
  :mod:`~keras_pggan.reports.document` keeps each driver's section of a shared document.
- :mod:`~keras_pggan.reports.plotting`: line plots with Pillow.

Not to be confused with :mod:`keras_pggan.studio.report` (a perceptual study's results).
"""
