"""The two answers and their sentences: a fixed vocabulary each, the sentence made from the word."""

import numpy as np
import pytest

from scalelaw.fitting import conclusion
from scalelaw.fitting import sentence_length as SL


@pytest.mark.parametrize("interval, word", [
    ((0.05, 0.2), "increasing"), ((-0.3, -0.1), "decreasing"), ((-0.05, 0.03), "no_detectable_trend"),
    ((np.nan, 0.08), "not_fitted"),
])
def test_trend_vocabulary(interval, word):
    assert conclusion.trend(*interval) == word
    text = conclusion.trend_statement(word, b=0.1, b_low=interval[0], b_high=interval[1], unit="words",
                                      reason="too few documents")
    assert not any(w.replace("_", " ") in text for w in conclusion.TRENDS if w != word and w != "not_fitted")
    if word == "decreasing":
        assert "shorter sentences" in text
    if word == "no_detectable_trend":
        assert "shorter" not in text and "longer" not in text


@pytest.mark.parametrize("interval, word", [
    ((0.01, 0.1), "longer_with_more_sentences"), ((-0.2, -0.01), "shorter_with_more_sentences"),
    ((-0.02, 0.03), "as_null"), ((np.nan, 0.03), "not_fitted"),
])
def test_vs_null_vocabulary_speaks_of_sentence_counts(interval, word):
    assert conclusion.vs_null(*interval) == word
    text = conclusion.vs_null_statement(word, b_null=0.2, d=0.0, d_low=interval[0], d_high=interval[1])
    # the comparison with the null is about sentence counts, never about longer documents
    assert "longer documents" not in text and "document length" not in text
    if word.endswith("with_more_sentences"):
        assert "documents with more sentences have" in text


def test_unknown_words_are_refused():
    with pytest.raises(ValueError, match="unknown trend"):
        conclusion.trend_statement("longer_sentences")
    with pytest.raises(ValueError, match="unknown vs_null"):
        conclusion.vs_null_statement("indistinguishable_from_null")


def test_agree_only_when_every_member_gives_the_same_fitted_answer():
    assert conclusion.agree(["increasing"] * 4)
    assert not conclusion.agree(["increasing"] * 3 + ["no_detectable_trend"])
    assert not conclusion.agree(["not_fitted"] * 2)
    assert not conclusion.agree([])


def test_decades():
    assert SL.decades([2.0, 20.0, 2000.0]) == pytest.approx(3.0)
    with pytest.raises(ValueError):
        SL.decades([0.0, 1.0])
