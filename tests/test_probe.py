"""The probe against the training forward pass and a plain step-by-step reference."""
import subprocess
import sys

import numpy as np
import pytest
import torch

from tuirnn.core.errors import UserError
from tuirnn.core.finder import HYPOTHESES, find_units, rank_units, regex_signal, signal_for
from tuirnn.core.model import CharRNN
from tuirnn.core.probe import ProbeResult, encode, probe_ids, probe_text

VOCAB = "\n \"().,:;?[]abcdefghijklmnopqrstuvwxyz"
TEXT = 'the "quick" brown (fox) jumps\nover [the] lazy dog; "why?" said he.\n' * 3


def make_model(cell, layers, hidden=24, seed=0):
    torch.manual_seed(seed)
    return CharRNN(len(VOCAB), cell, hidden, layers, dropout=0.3, embed_size=16)


def reference_steps(model, ids):
    """Step-by-step cell maths straight from each layer's weights: (hs, cs) lists of (T, H)."""
    x = model.embed(ids)
    hs, cs = [], []
    for layer in model.layers:
        W_ih, W_hh = layer.weight_ih_l0, layer.weight_hh_l0
        b_ih, b_hh = layer.bias_ih_l0, layer.bias_hh_l0
        H = W_hh.shape[1]
        h, c = torch.zeros(H), torch.zeros(H)
        h_out, c_out = [], []
        for x_t in x:
            gi, gh = W_ih @ x_t + b_ih, W_hh @ h + b_hh
            if model.cell == "lstm":
                i, f, g, o = (gi + gh).chunk(4)
                c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
                h = torch.sigmoid(o) * torch.tanh(c)
            elif model.cell == "gru":
                ir, iz, inn = gi.chunk(3)
                hr, hz, hn = gh.chunk(3)
                r, z = torch.sigmoid(ir + hr), torch.sigmoid(iz + hz)
                h = (1 - z) * torch.tanh(inn + r * hn) + z * h
            else:
                h = torch.tanh(gi + gh)
            h_out.append(h)
            c_out.append(c)
        hs.append(torch.stack(h_out))
        cs.append(torch.stack(c_out))
        x = hs[-1]
    return hs, cs


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
@pytest.mark.parametrize("layers", [1, 3])
def test_probe_equals_training_forward(cell, layers):
    model = make_model(cell, layers)
    model.train()                                   # probe_text must switch dropout off itself
    result = probe_text(model, TEXT, VOCAB, k=5)
    assert model.training                           # ... and restore the mode afterwards
    model.eval()
    ids = encode(TEXT, VOCAB)
    with torch.no_grad():
        logits, state = model(ids[None])           # the training forward pass
        ref_h, ref_c = reference_steps(model, ids)
    probs = torch.softmax(logits[0], -1)
    top_p, top_i = probs.topk(5, -1)
    np.testing.assert_allclose(result.top_probs, top_p.numpy(), atol=1e-5)
    assert (result.top_ids == top_i.numpy()).all()
    p_logits, p_state, _, p_cs = probe_ids(model, ids)
    np.testing.assert_allclose(p_logits.numpy(), logits[0].numpy(), atol=1e-5)
    for i in range(layers):
        final = state[i]
        h_final = final[0] if cell == "lstm" else final
        np.testing.assert_allclose(result.h[i, -1], h_final[0, 0].numpy(), atol=1e-5)
        np.testing.assert_allclose(result.h[i], ref_h[i].numpy(), atol=1e-5)
        if cell == "lstm":
            np.testing.assert_allclose(p_cs[i][-1].numpy(), final[1][0, 0].numpy(), atol=1e-5)
            np.testing.assert_allclose(result.c[i], np.tanh(ref_c[i].numpy()), atol=1e-5)
    assert result.h.shape == (layers, len(TEXT), 24)
    assert (result.c is not None) == (cell == "lstm")


def test_event_round_trip_and_builtins_only():
    model = make_model("lstm", 2)
    result = probe_text(model, TEXT, VOCAB, k=3)
    ev = result.to_event(iteration=7, source="typed", request_id=4)
    assert all(isinstance(getattr(ev, f), (str, int, bytes, type(None)))
               for f in ev.__dataclass_fields__)
    back = ProbeResult.from_event(ev)
    assert back.text == TEXT and back.iteration == 7 and back.source == "typed"
    np.testing.assert_array_equal(back.h, result.h)
    np.testing.assert_array_equal(back.c, result.c)
    np.testing.assert_array_equal(back.top_ids, result.top_ids)
    gru = ProbeResult.from_event(probe_text(make_model("gru", 1), TEXT, VOCAB).to_event())
    assert gru.c is None and gru.kinds == ("h",)
    np.testing.assert_array_equal(gru.layer("c", 0), gru.layer("h", 0))


def test_unknown_characters_dropped_or_reported():
    model = make_model("gru", 1)
    result = probe_text(model, "abc€ dé", VOCAB)
    assert result.text == "abc d" and result.dropped == "é€"
    with pytest.raises(UserError, match="'€'"):
        probe_text(model, "abc€", VOCAB, unknown="error")
    empty = probe_text(model, "€€", VOCAB)
    assert empty.h.shape == (1, 0, 24) and empty.top_ids.shape[0] == 0


def test_builtin_signals():
    text = 'a "bc" (d [e] f)\nxy'
    s = {name: signal_for(text, name).tolist() for name in HYPOTHESES}
    assert s["quotes"] == [0, 0, 1, 1, 1, 0] + [0] * 13
    assert s["parens"][7:15] == [1] * 8 and s["parens"][15] == 0
    assert s["brackets"][10:13] == [1, 1, 0]
    assert s["line_position"][-3:] == [0, 1, 2]
    assert s["after_newline"][16] == 1 and sum(s["after_newline"]) == 1
    assert s["word_start"][:4] == [1, 0, 0, 1]
    assert regex_signal("xaby ab", "ab").tolist() == [0, 1, 1, 0, 0, 1, 1]


def test_bad_regex_names_it():
    with pytest.raises(UserError, match=r"bad regex '\(ab'"):
        signal_for("text", "(ab")


def test_rank_units_finds_a_planted_unit():
    model = make_model("lstm", 2)
    result = probe_text(model, TEXT, VOCAB)
    signal = signal_for(TEXT, "quotes")
    result.h[1, :, 5] = signal * 1.6 - 0.8                   # plant a perfect quote unit
    best = rank_units(result, signal, top=3)
    assert (best[0].kind, best[0].layer, best[0].unit) == ("h", 1, 5)
    assert best[0].corr == pytest.approx(1.0, abs=1e-5)
    assert abs(best[0].corr) >= abs(best[1].corr) >= abs(best[2].corr)
    assert find_units(result, "zzz") == []                  # no match: constant signal


def test_core_modules_import_no_ui():
    code = ("import sys, tuirnn.core.probe, tuirnn.core.finder; "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('textual', 'rich')]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)
