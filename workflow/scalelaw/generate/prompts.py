"""Prompts cut from corpus documents, with their human continuations.

Documents are put in a seeded random order (by ``seed``, over documents sorted by
``doc_id``). For each document a start sentence is drawn from the first half of the
document with a generator seeded by ``(seed, doc_id)`` only, so the same document
starts at the same sentence for every prompt length (a paired design). The prompt is
the longest run of whole sentences from there whose text has at most ``prompt_tokens``
tokens under the reference tokenizer (counted on the prompt text itself). When that run
is shorter than ``min_fill * prompt_tokens`` (long sentences) or leaves no sentence
after it, the start moves forward one sentence, up to ``max_shift`` times (so prompt
lengths share documents and regions, not always the exact start sentence:
``start_sentence`` is recorded); documents where nothing fits are skipped and counted.
The actual length is recorded (``prompt_tokens_ref``; the model's own count is recorded
per generation). The human continuation is the following whole sentences, as many as
fit in ``continuation_tokens`` tokens, and at least one.
"""

from __future__ import annotations

import zlib
from typing import Any

import numpy as np
import pandas as pd

from scalelaw.generate.errors import SweepError

PROMPT_COLUMNS = [
    "corpus", "prompt_tokens", "seed", "prompt_index", "prompt_id", "doc_id",
    "start_sentence", "n_prompt_sentences", "prompt_char_start", "prompt_char_end",
    "prompt_text", "prompt_tokens_ref", "continuation_text", "n_continuation_sentences",
    "continuation_tokens_ref",
]


def count_tokens(tokenizer, text: str) -> int:
    return len(tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"])


def _doc_uniform(seed: int, doc_id: str) -> float:
    rng = np.random.default_rng([int(seed), zlib.crc32(str(doc_id).encode())])
    return float(rng.random())


def cut_prompt(
    text: str,
    spans: list[tuple[int, int]],
    tokenizer,
    *,
    start: int,
    prompt_tokens: int,
    continuation_tokens: int,
    min_fill: float = 0.5,
) -> dict[str, Any] | None:
    """Cut one prompt and its human continuation out of ``text`` (see module doc).

    ``spans`` are the sentence spans of ``text``; ``start`` the first prompt sentence.
    Returns None when the document cannot give a prompt of this length.
    """
    if start >= len(spans) - 1:
        return None
    c0 = spans[start][0]
    # Candidate ends by a cheap estimate (token ends from one tokenization of a window),
    # then confirmed on the prompt text itself.
    window_end = spans[-1][1]
    enc = tokenizer(text[c0:window_end], add_special_tokens=False,
                    return_offsets_mapping=True, verbose=False)
    tok_ends = np.asarray([e for _, e in enc["offset_mapping"]], dtype=np.int64) + c0
    ends = np.asarray([e for _, e in spans[start:]], dtype=np.int64)
    est = np.searchsorted(tok_ends, ends, side="right")  # tokens ending within prefix
    k = int(np.searchsorted(est, prompt_tokens, side="right"))  # sentences that fit
    k = min(k, len(spans) - start - 1)  # keep one sentence for the continuation
    n_ref = 0
    while k > 0:
        n_ref = count_tokens(tokenizer, text[c0:spans[start + k - 1][1]])
        if n_ref <= prompt_tokens:
            break
        k -= 1
    if k == 0 or n_ref < min_fill * prompt_tokens:
        return None
    p_end = spans[start + k - 1][1]
    # continuation: whole sentences after the prompt, within continuation_tokens
    first = start + k
    m = 1
    cont_base = int(np.searchsorted(tok_ends, p_end, side="right"))
    while first + m < len(spans):
        nxt = int(np.searchsorted(tok_ends, spans[first + m][1], side="right")) - cont_base
        if nxt > continuation_tokens:
            break
        m += 1
    cont_text = text[p_end:spans[first + m - 1][1]]
    return {
        "start_sentence": int(start),
        "n_prompt_sentences": int(k),
        "prompt_char_start": int(c0),
        "prompt_char_end": int(p_end),
        "prompt_text": text[c0:p_end],
        "prompt_tokens_ref": int(n_ref),
        "continuation_text": cont_text,
        "n_continuation_sentences": int(m),
        "continuation_tokens_ref": count_tokens(tokenizer, cont_text),
    }


def sample_prompts(
    documents: pd.DataFrame,
    tokenizer,
    *,
    n_prompts: int,
    prompt_tokens: int,
    seed: int,
    corpus: str = "",
    segmenter: str = "nupunkt",
    paragraph_breaks: bool = True,
    continuation_tokens: int = 256,
    min_fill: float = 0.5,
    start: str = "random",
    max_shift: int = 50,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """``n_prompts`` prompts of about ``prompt_tokens`` tokens (see module doc).

    ``start="random"`` draws the first sentence from the first half of each document;
    ``start="document"`` always starts at the first sentence. When no prompt fits at the
    drawn sentence (its sentences are too long for ``prompt_tokens``), the start moves
    forward a sentence at a time, up to ``max_shift`` sentences. Returns the prompts and
    a record of how many documents were tried and skipped.
    """
    from scalelaw.lengths import segment

    if start not in ("random", "document"):
        raise SweepError(f"prompt start must be 'random' or 'document', not {start!r}")
    docs = documents[["doc_id", "text"]].copy()
    docs["doc_id"] = docs["doc_id"].astype(str)
    docs = docs.sort_values("doc_id", kind="stable").reset_index(drop=True)
    order = np.random.default_rng(int(seed)).permutation(len(docs))
    rows, tried, skipped = [], 0, 0
    for pos in order:
        if len(rows) >= n_prompts:
            break
        doc_id, text = docs.at[pos, "doc_id"], docs.at[pos, "text"]
        tried += 1
        spans = segment(text, segmenter, paragraph_breaks) if isinstance(text, str) else []
        if len(spans) < 2:
            skipped += 1
            continue
        s0 = int(_doc_uniform(seed, doc_id) * (len(spans) // 2)) if start == "random" else 0
        cut = None
        for s in range(s0, min(len(spans) - 1, s0 + max_shift + 1)):
            cut = cut_prompt(text, spans, tokenizer, start=s, prompt_tokens=prompt_tokens,
                             continuation_tokens=continuation_tokens, min_fill=min_fill)
            if cut is not None:
                break
        if cut is None:
            skipped += 1
            continue
        rows.append({
            "corpus": corpus,
            "prompt_tokens": int(prompt_tokens),
            "seed": int(seed),
            "prompt_index": len(rows),
            "prompt_id": f"{doc_id}@{cut['start_sentence']}+{cut['n_prompt_sentences']}",
            "doc_id": doc_id,
            **cut,
        })
    prompts = pd.DataFrame(rows, columns=PROMPT_COLUMNS)
    prompts = prompts.astype({"prompt_tokens": "int64", "seed": "int64",
                              "prompt_index": "int64", "start_sentence": "int64",
                              "n_prompt_sentences": "int64", "prompt_char_start": "int64",
                              "prompt_char_end": "int64", "prompt_tokens_ref": "int64",
                              "n_continuation_sentences": "int64",
                              "continuation_tokens_ref": "int64"})
    stats = {"documents": len(docs), "tried": tried, "skipped": skipped,
             "prompts": len(prompts), "requested": int(n_prompts)}
    if len(prompts) < n_prompts:
        stats["warning"] = (
            f"only {len(prompts)} of {n_prompts} prompts of ~{prompt_tokens} tokens: "
            f"{skipped} of {tried} documents too short or with too long sentences"
        )
    return prompts, stats


def prompt_key(frame: pd.DataFrame) -> pd.Series:
    return ("p" + frame["prompt_tokens"].astype(int).astype(str) + " s"
            + frame["seed"].astype(int).astype(str) + " " + frame["prompt_id"].astype(str))
