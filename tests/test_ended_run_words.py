"""A sample drawn on an ended run measures its real words against the run's own training text,
as the trainer's samples do (not against an empty set, which always said 0%)."""

from test_responder import TEXT, make_checkpoint, wait_for

from tuirnn.cli.neurons import default_text
from tuirnn.core.config import Config
from tuirnn.core.events import ErrorsCounted, ProbeCompleted, SampleGenerated
from tuirnn.core.responder import CheckpointResponder, known_words_of


def test_an_ended_runs_sample_counts_the_words_of_its_corpus(tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(TEXT)
    responder = CheckpointResponder(make_checkpoint(tmp_path, corpus), (events := []).append).start()
    try:
        responder.control.request_sample(prime="He said come here and left ", length=5, seed=1)
        done = wait_for(events, SampleGenerated)
    finally:
        responder.control.stop()
    assert done.word_share > 0


def test_known_words_are_none_when_the_corpus_is_gone(tmp_path):
    cfg = Config()
    cfg.data.path = str(tmp_path / "moved.txt")
    assert known_words_of({"config": cfg.to_dict()}) == set()
    corpus = tmp_path / "c.txt"
    corpus.write_text(TEXT)
    cfg.data.path, cfg.data.val_frac = str(corpus), 0.1
    assert {"said", "come", "here"} <= known_words_of({"config": cfg.to_dict()})


def test_an_ended_runs_probe_of_the_validation_text_counts_its_errors(tmp_path):
    """v on an ended run: the window of the val split is probed and its error breakdown
    follows (ErrorsCounted), from the run's own training text, as in a live run; a typed text
    gets none (it is not the validation text)."""
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(TEXT * 10)                  # a val split of 600 chars
    responder = CheckpointResponder(make_checkpoint(tmp_path, corpus), (events := []).append,
                                    default_text=default_text).start()
    try:
        responder.control.request_probe(text=None, source="val", length=300)
        counted = wait_for(events, ErrorsCounted)
        assert counted.iteration == 42 and 0 < counted.chars <= 300
        assert counted.errors == (counted.ngram + counted.memory + counted.rare + counted.word
                                  + counted.punctuation + counted.boost)
        events.clear()
        responder.control.request_probe(text="He said come", source="typed")
        wait_for(events, ProbeCompleted)
        assert not any(isinstance(e, ErrorsCounted) for e in events)
    finally:
        responder.control.stop()
