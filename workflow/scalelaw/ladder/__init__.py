"""A model ladder trained by the pipeline itself: data (split by document, a small BPE,
packed sequences), Llama models per size, the training loop with checkpoints, and the
run designs (grid and IsoFLOP) and their plan (``plan.LadderPlan``). The fits of the
resulting losses (``analysis``, ``tables``) use the laws of the one registry,
``scalelaw.fitting.laws``."""
