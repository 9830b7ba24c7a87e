"""Generation sweeps with causal language models: plain functions over DataFrames, no
Snakemake. One module per step, imported in this order (each imports only modules above
it, so there is no cycle):

``errors``      SweepError, ModelError (both DataError)
``specs``       how a model is named in the config (hub, path, gguf, ladder)
``sources``     GGUF conversion, hub snapshots, local folders, model facts
``loading``     a prepared model on a device; GPU batch sizes
``prompts``     prompts cut from corpus documents, with their human continuations
``decoding``    decoding settings, prompt formats (raw, chat), token budgets
``engines``     transformers and CTranslate2 batch runners
``generation``  batched generation with stop reasons and censoring
``loss``        loss of the human continuation given its prompt
``hazard``      the end-of-text hazard along a document's true continuation
``measuring``   generated and human texts through ``scalelaw.lengths``
``plan``        the sweep's files and job settings (read by rules/generate.smk)
``fit``, ``hazard_fit``  the sweep's fits
``figures``, ``report``  its figures and Markdown section

Device and dtype come from the shared :mod:`scalelaw.device`.
"""
