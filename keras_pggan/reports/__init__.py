"""Reports: the model card (read and written in one module) and the experiment runners behind
the tables in docs/ (paper table, ablations, training recipes, checkpoint comparison).
"""
