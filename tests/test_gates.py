"""Gates re-derived from each layer's weights reproduce the fast layers; saturation shares."""
import numpy as np
import pytest
import torch

from tuirnn.core import gates as G
from tuirnn.core.model import CharRNN
from tuirnn.core.probe import ProbeResult, encode, probe_text

TEXT = 'He said "come here" and (then) left [quickly].\n\tShe said "no".\n' * 6
VOCAB = "".join(sorted(set(TEXT)))


def model_of(cell: str, layers: int = 2, hidden: int = 24) -> CharRNN:
    torch.manual_seed(1)
    m = CharRNN(len(VOCAB), cell, hidden_size=hidden, num_layers=layers, embed_size=12)
    with torch.no_grad():          # bigger weights than the default init: gates reach 0 and 1
        for layer in m.layers:
            for p in layer.parameters():
                p.mul_(4)
    return m.eval()


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_rederived_gates_reproduce_every_layers_h_and_c(cell):
    model = model_of(cell)
    ids = encode(TEXT, VOCAB)
    with torch.no_grad():
        _, state, hiddens = model(ids[None], return_hidden=True)
        hs = [h[0] for h in hiddens]
        layers = list(G.layer_gates(model, ids, hs))
    assert [n for n, *_ in layers] == [0, 1]
    for n, gates, c, h in layers:
        assert set(gates) == set(G.GATES[cell])
        assert (h - hs[n]).abs().max().item() < 1e-5          # the layer's own h, every step
        if cell == "lstm":
            assert (c[-1] - state[n][1][0, 0]).abs().max().item() < 1e-5   # and its final c
        for a in gates.values():
            assert a.shape == hs[n].shape and 0 <= a.min() and a.max() <= 1


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_chunked_stats_equal_one_pass_and_shares_are_in_unit_interval(cell):
    model = model_of(cell)
    ids = encode(TEXT, VOCAB)
    whole = G.gate_stats(model, ids, chunk=len(ids))
    parts = G.gate_stats(model, ids, chunk=37)                 # state carried across chunks
    np.testing.assert_allclose(parts.left, whole.left, atol=1e-6)
    np.testing.assert_allclose(parts.right, whole.right, atol=1e-6)
    assert whole.chars == len(TEXT) and whole.left.shape == (2, len(G.GATES[cell]), 24)
    for a in (whole.left, whole.right):
        assert (a >= 0).all() and (a <= 1).all()
    assert (whole.left + whole.right <= 1 + 1e-6).all()       # a gate is never both
    assert whole.left.max() > 0 and whole.right.max() > 0     # the big weights saturate some


def test_a_gate_forced_open_is_right_saturated_everywhere():
    model = model_of("lstm", layers=1, hidden=8)
    H = 8
    with torch.no_grad():
        layer = model.layers[0]
        forget = slice(H, 2 * H)                  # rows i f g o: the forget gate
        layer.weight_ih_l0[forget] = 0
        layer.weight_hh_l0[forget] = 0
        layer.bias_ih_l0[forget] = 5.0            # sigmoid(5 + 0) = 0.993 > 0.9
        layer.bias_hh_l0[forget] = 0
        layer.bias_ih_l0[3 * H + 2] = -5.0        # unit 2's output gate: sigmoid(-5) < 0.1 ...
        layer.weight_ih_l0[3 * H + 2] = 0
        layer.weight_hh_l0[3 * H + 2] = 0
        layer.bias_hh_l0[3 * H + 2] = 0
    stats = G.gate_stats(model, encode(TEXT, VOCAB))
    left, right = stats.gate(0, "forget")
    assert (right == 1).all() and (left == 0).all()
    assert stats.shares(0, "forget") == (0.0, 1.0)
    out_left, out_right = stats.gate(0, "output")
    assert out_left[2] == 1 and out_right[2] == 0             # ... at every character
    assert stats.most_right(0, "forget", top=3) == [(0, 1.0), (1, 1.0), (2, 1.0)]


def test_stats_travel_in_the_probe_event():
    model = model_of("lstm")
    result = probe_text(model, TEXT, VOCAB)
    assert result.gates is not None and result.gates.chars == len(TEXT)
    ref = G.gate_stats(model, encode(TEXT, VOCAB))
    np.testing.assert_allclose(result.gates.right, ref.right, atol=1e-6)
    ev = result.to_event(iteration=7)
    assert len(ev.gates) == 4 * 2 * 3 * 2 * 24                 # (L, G, 2, H) float32: small
    back = ProbeResult.from_event(ev)
    np.testing.assert_array_equal(back.gates.left, result.gates.left)
    np.testing.assert_array_equal(back.gates.right, result.gates.right)


def test_rnn_has_no_gates_and_bad_bytes_are_refused():
    result = probe_text(CharRNN(len(VOCAB), "rnn", hidden_size=8, num_layers=1).eval(), TEXT, VOCAB)
    assert result.gates is None and result.to_event().gates == b""
    with pytest.raises(ValueError, match="do not fit"):
        G.GateStats.unpack(b"\0" * 12, "lstm", 2, 24, 10)


# --- `tuirnn neurons CK --gates` on a checkpoint trained a few steps ------------------------
@pytest.fixture
def trained_ckpt(tmp_path):
    from tuirnn.core import checkpoint as ckpt_mod
    from tuirnn.core.config import Config
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(TEXT * 3, encoding="utf-8")
    cfg = Config()
    cfg.data.path = str(corpus)
    cfg.model.hidden_size, cfg.model.num_layers = 16, 2
    torch.manual_seed(0)
    model = CharRNN(len(VOCAB), "lstm", hidden_size=16, num_layers=2, embed_size=cfg.model.embed_size)
    opt = torch.optim.Adam(model.parameters(), lr=0.02)
    ids = encode(TEXT * 3, VOCAB)
    for _ in range(30):                         # a tiny training: enough to move the gates
        x, y = ids[:-1].reshape(1, -1), ids[1:].reshape(1, -1)
        logits, _ = model(x)
        loss = torch.nn.functional.cross_entropy(logits[0], y[0])
        opt.zero_grad()
        loss.backward()
        opt.step()
    path = tmp_path / "model.pt"
    ckpt_mod.save_atomic({"format": ckpt_mod.FORMAT, "version": ckpt_mod.VERSION,
                          "model": model.state_dict(), "vocab": VOCAB,
                          "config": cfg.to_dict(), "iteration": 30}, path)
    return path


def neurons(args, capsys):
    from tuirnn.cli import main
    code = main(["neurons", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_gates_prints_shares_per_layer_and_gate_over_the_whole_val_split(trained_ckpt, capsys):
    code, out, err = neurons([trained_ckpt, "--gates", "--length", "0"], capsys)
    assert code == 0, err
    assert "the whole validation split" in out and "iteration 30" in out
    for name in ("input", "forget", "output"):
        assert out.count(name) >= 2                      # one row a layer
    shares = [float(p[:-1]) for p in out.split() if p.endswith("%") and p[:-1].replace(".", "").isdigit()]
    assert shares and all(0 <= s <= 100 for s in shares)
    assert "right-saturated in the forget gate" in out
    assert "layer 0:" in out and "layer 1:" in out


def test_cli_gates_html_is_one_scatter_per_gate_and_layer(trained_ckpt, tmp_path, capsys):
    page = tmp_path / "gates.html"
    code, out, err = neurons([trained_ckpt, "--gates", "--html", page, "--length", "300"], capsys)
    assert code == 0, err
    html = page.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and html.count("<svg") == 2 * 3
    assert html.count("<circle") == 2 * 3 * 16                # one dot a unit
    assert "<script" not in html and "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")


@pytest.mark.parametrize("args, message", [
    (["--length", "0"], "goes with --gates"),
    (["--gates", "--unit", "0:1"], "--gates shows every gate"),
    (["--gates", "--length", "-1"], "--length must be at least"),
])
def test_cli_gates_bad_input_is_one_line(trained_ckpt, capsys, args, message):
    code, out, err = neurons([trained_ckpt, *args], capsys)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


def test_stats_cross_the_socket_in_a_binary_frame():
    from tuirnn.remote import protocol as P
    ev = probe_text(model_of("gru"), TEXT, VOCAB).to_event(iteration=3)
    frames = P.FrameReader().feed(P.encode_event(ev))
    d = P.parse_json(frames[0][1])
    assert "gates" in d["binary"]
    back = P.decode_event(d, [blob for _, blob in frames[1:]])
    stats = ProbeResult.from_event(back).gates
    assert stats is not None and stats.names == ("reset", "update")
    np.testing.assert_array_equal(stats.right, ProbeResult.from_event(ev).gates.right)


@pytest.mark.parametrize("cell, names", [("gru", ("reset", "update")), ("rnn", None)])
def test_cli_gates_for_a_gru_and_an_rnn(tmp_path, capsys, cell, names):
    from tuirnn.core import checkpoint as ckpt_mod
    from tuirnn.core.config import Config
    text = tmp_path / "text.txt"
    text.write_text(TEXT, encoding="utf-8")
    cfg = Config()
    cfg.model.cell, cfg.model.hidden_size, cfg.model.num_layers = cell, 8, 2
    model = CharRNN(len(VOCAB), cell, hidden_size=8, num_layers=2, embed_size=cfg.model.embed_size)
    path = tmp_path / f"{cell}.pt"
    ckpt_mod.save_atomic({"format": ckpt_mod.FORMAT, "version": ckpt_mod.VERSION,
                          "model": model.state_dict(), "vocab": VOCAB,
                          "config": cfg.to_dict(), "iteration": 1}, path)
    code, out, err = neurons([path, "--gates", "--text", text, "--length", "0"], capsys)
    if names is None:
        assert code == 2 and "needs an LSTM or GRU" in err and len(err.strip().splitlines()) == 1
        return
    assert code == 0, err
    assert all(out.count(n) >= 2 for n in names) and "forget" not in out
    assert f"{len(TEXT):,}" in out                            # all of the --text file
