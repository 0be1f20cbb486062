"""A monitor on a run whose trainer has gone samples and probes from the checkpoint itself."""
from pathlib import Path

import torch

from tuirnn.core import checkpoint as ckpt_mod
from tuirnn.core.config import Config
from tuirnn.core.control import ProbeRequest, SampleRequest
from tuirnn.core.events import ProbeCompleted, SampleChunkGenerated, SampleGenerated
from tuirnn.core.model import build
from tuirnn.core.responder import CheckpointResponder
from tuirnn.core.sample import generate

TEXT = 'He said "come here" and left.\n' * 20
VOCAB = "".join(sorted(set(TEXT)))


def make_checkpoint(tmp_path: Path, data_path: Path | None = None) -> Path:
    """A 2x16 LSTM's last.pt at iteration 42; with data_path, its run's corpus (val 10%)."""
    cfg = Config()
    cfg.model.hidden_size, cfg.model.num_layers, cfg.model.embed_size = 16, 2, 8
    if data_path is not None:
        cfg.data.path, cfg.data.val_frac = str(data_path), 0.1
    torch.manual_seed(0)
    model = build(len(VOCAB), cfg.model)
    path = tmp_path / "last.pt"
    ckpt_mod.save_atomic({"format": ckpt_mod.FORMAT, "version": ckpt_mod.VERSION,
                          "model": model.state_dict(), "vocab": VOCAB, "config": cfg.to_dict(),
                          "iteration": 42, "val_loss": 2.5}, path)
    return path


def wait_for(events: list, kind: type, timeout: float = 20.0):
    import time
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [e for e in events if isinstance(e, kind)]
        if found:
            return found[-1]
        time.sleep(0.02)
    raise AssertionError(f"no {kind.__name__} in {events!r}")


def test_sample_streams_and_matches_the_sample_command(tmp_path):
    path = make_checkpoint(tmp_path)
    events: list = []
    responder = CheckpointResponder(path, events.append).start()
    try:
        rid = responder.control.request_sample(prime="He ", temperature=0.8, length=60, seed=7)
        done = wait_for(events, SampleGenerated)
    finally:
        responder.control.stop()
    model, vocab, _ = ckpt_mod.model_from_checkpoint(path)
    expected = "He " + "".join(generate(model, vocab, 60, "He ", 0.8, 0, 7))
    assert done.request_id == rid and done.iteration == 42 and done.val_loss == 2.5
    assert done.text == expected
    chunks = "".join(e.text for e in events if isinstance(e, SampleChunkGenerated))
    assert chunks == expected


def test_probe_answers_on_the_given_text_and_stop_ends_the_thread(tmp_path):
    responder = CheckpointResponder(make_checkpoint(tmp_path), (events := []).append).start()
    responder.control.request_probe(text='He said "come"', source="typed", length=100)
    probe = wait_for(events, ProbeCompleted)
    assert probe.text == 'He said "come"' and probe.iteration == 42
    responder.control.stop()
    responder.thread.join(5)
    assert responder.error is None
    assert not responder.thread.is_alive()


def test_requests_are_plain_dataclasses():
    # the same request types travel from a monitor to a trainer or to a CheckpointResponder
    assert SampleRequest(1).stream and ProbeRequest(2).text is None


def test_an_unreadable_checkpoint_answers_samples_with_the_reason(tmp_path):
    bad = tmp_path / "last.pt"
    bad.write_bytes(b"not a checkpoint")
    responder = CheckpointResponder(bad, (events := []).append).start()
    responder.control.request_sample(prime="", length=10)
    done = wait_for(events, SampleGenerated)
    responder.control.stop()
    assert done.text.startswith("[") and "cannot be read" in done.text


def test_requests_without_a_seed_get_a_fresh_one_each():
    """`s` twice at one iteration with the seed field empty: two seeds, two texts; the
    checkpoint's own sample (no request id) keeps the run's seed, so it repeats."""
    from tuirnn.core.responder import Responder
    cfg = Config()
    cfg.model.hidden_size, cfg.model.num_layers, cfg.model.embed_size = 16, 1, 8
    torch.manual_seed(0)
    model = build(len(VOCAB), cfg.model)
    events: list = []
    responder = Responder(model, VOCAB, torch.device("cpu"), events.append)
    for rid in (1, 2, None, None):
        responder.sample(SampleRequest(rid, "He", 1.0, 80, 0, seed=None, stream=False),
                         iteration=300, val_loss=2.0, default_seed=1337 + 300)
    a, b, own1, own2 = [e for e in events if isinstance(e, SampleGenerated)]
    assert a.seed != b.seed and a.text != b.text
    assert (own1.seed, own1.text) == (own2.seed, own2.text) and own1.seed == 1337 + 300
    # a seed typed in again repeats the sample
    responder.sample(SampleRequest(3, "He", 1.0, 80, 0, seed=a.seed, stream=False),
                     iteration=300, val_loss=2.0, default_seed=0)
    assert [e for e in events if isinstance(e, SampleGenerated)][-1].text == a.text
