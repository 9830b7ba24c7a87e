"""A trained ladder run exported as a Hugging Face folder (scalelaw.ladder.export): it
loads with AutoModelForCausalLM / AutoTokenizer, its eos is the ladder's end-of-text id,
it gives the same logits as the trained model, and it carries its ladder_model.json."""

import json

import numpy as np
import pytest

from scalelaw.ladder import data, export, train

SETTINGS = {"batch_size": 4, "lr": 0.01, "min_lr_ratio": 0.1, "warmup_fraction": 0.1, "weight_decay": 0.1,
            "beta1": 0.9, "beta2": 0.95, "grad_clip": 1.0, "seed": 0, "eval_tokens": 0, "log_every": 5,
            "eval_every": 0, "checkpoint_every": 10}


def test_exported_model_loads_with_transformers_and_ends_text_with_eos(tmp_path):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    texts = [f"Speech number {i}: the state of the union is strong, said president {i % 7}." * 5 for i in range(40)]
    tok = data.train_bpe(texts, 300)
    tok_file = tmp_path / "tokenizer.json"
    tok.save(str(tok_file))
    stream = data.encode_stream(tok, texts)
    seqs = data.pack(stream, 32)
    kept = {}

    def save(model, summary):
        kept["model"] = model
        kept["card"] = export.save_model(model, summary, tokenizer_file=tok_file, out_dir=tmp_path / "models" / "r",
                                         corpus="toy")

    summary, _ = train.train_run(run="r", size={"name": "a", "d_model": 16, "n_layers": 1, "n_heads": 1},
                                 tokens=4 * 32 * 6, train_seqs=seqs[:-4], val_seqs=seqs[-4:],
                                 vocab_size=tok.get_vocab_size(), settings=SETTINGS,
                                 checkpoint=tmp_path / "ck.pt", threads=1, export=save)
    folder = tmp_path / "models" / "r"
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".")]  # no temporary folder left
    card = json.loads((folder / export.MODEL_CARD).read_text())
    assert card == {"run": "r", "size": "a", "tokens": summary["tokens_seen"],
                    "n_params_total": summary["params_total"],
                    "n_params_non_embedding": summary["params_non_embedding"],
                    "val_loss": pytest.approx(summary["val_loss"]), "corpus": "toy"}
    assert (folder / "model.safetensors").exists()

    model = AutoModelForCausalLM.from_pretrained(folder)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    eos_id = tok.token_to_id(data.EOS)
    assert tokenizer.eos_token == data.EOS and tokenizer.eos_token_id == eos_id == model.config.eos_token_id
    ids = tokenizer("the state of the union", return_tensors="pt")["input_ids"]
    assert ids[0].tolist() == tok.encode("the state of the union").ids  # no special tokens added
    with torch.no_grad():
        assert torch.allclose(model(ids).logits, kept["model"].eval()(ids).logits, atol=1e-6)
    out = model.generate(ids, max_new_tokens=5, do_sample=False, eos_token_id=tokenizer.eos_token_id,
                         pad_token_id=tokenizer.eos_token_id)
    assert out.shape[1] <= ids.shape[1] + 5
