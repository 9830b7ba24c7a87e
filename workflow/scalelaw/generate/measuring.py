"""Generated texts and human continuations measured with the corpus's own code
(``scalelaw.lengths``)."""

from __future__ import annotations

import pandas as pd

from scalelaw.generate.prompts import prompt_key

def measure_generations(generations: pd.DataFrame, prompts: pd.DataFrame, tokenizer, *,
                        segmenter: str = "nupunkt", paragraph_breaks: bool = True,
                        corpus: str = "") -> dict[str, pd.DataFrame]:
    """Generated texts and human continuations through ``scalelaw.lengths``.

    Returns ``{"generated": doc_lengths, "generated_sentences": sentences,
    "human": doc_lengths, "human_sentences": sentences}``; generated rows are keyed by
    ``generation_id`` (as doc_id), human rows by ``prompt_key`` = "p{prompt_tokens}
    s{seed} {prompt_id}". The continuation's leading whitespace is stripped.
    """
    from scalelaw.lengths import measure_documents

    gdocs = pd.DataFrame({"doc_id": generations["generation_id"].astype(str),
                          "text": generations["generated_text"].fillna("").astype(str)})
    g_sent, g_len = measure_documents(gdocs, tokenizer, segmenter=segmenter,
                                      paragraph_breaks=paragraph_breaks,
                                      corpus=f"{corpus}:generated")
    hum = prompts.drop_duplicates(["prompt_tokens", "seed", "prompt_id"])
    key = prompt_key(hum)
    hdocs = pd.DataFrame({"doc_id": key, "text": hum["continuation_text"].str.strip()})
    h_sent, h_len = measure_documents(hdocs, tokenizer, segmenter=segmenter,
                                      paragraph_breaks=paragraph_breaks,
                                      corpus=f"{corpus}:human")
    return {"generated": g_len, "generated_sentences": g_sent,
            "human": h_len, "human_sentences": h_sent}


#: The measured lengths of a generated text in ``generations.parquet``: doc_lengths
#: column (scalelaw.lengths) -> generations column. ``gen_tokens`` is already the count
#: in the model's own tokens, so the corpus tokenizer's count is ``gen_tokens_measure``.
#: The one mapping both ways (docs/contracts.md).
MEASURED_COLUMNS = {
    "n_sentences": "gen_sentences", "L_words": "gen_words", "L_tokens": "gen_tokens_measure",
    "L_chars": "gen_chars", "S_words_mean": "S_words_mean", "S_tokens_mean": "S_tokens_mean",
    "S_chars_mean": "S_chars_mean", "status": "measure_status",
}


def attach_measured_lengths(generations: pd.DataFrame, doc_lengths: pd.DataFrame) -> pd.DataFrame:
    """``generations`` with the measured lengths of each text (doc_lengths keyed by
    ``doc_id`` = ``generation_id``) under the :data:`MEASURED_COLUMNS` names."""
    lengths = doc_lengths.rename(columns={"doc_id": "generation_id"})
    lengths = lengths[["generation_id", *MEASURED_COLUMNS]].rename(columns=MEASURED_COLUMNS)
    return generations.merge(lengths, on="generation_id", how="left", validate="one_to_one")


def measured_lengths(generations: pd.DataFrame) -> pd.DataFrame:
    """The measured lengths of ``generations`` back under the doc_lengths names."""
    return generations.rename(columns={v: k for k, v in MEASURED_COLUMNS.items()})
