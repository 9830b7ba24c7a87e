"""A model ladder trained by the pipeline itself: data (split by document, a small BPE,
packed sequences), Llama models per size, the training loop with checkpoints, and the
run designs (grid and IsoFLOP). Fits of the resulting losses live in
``scalelaw.fitting.ladder_laws``."""
