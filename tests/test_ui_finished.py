"""A finished run keeps serving sample/probe/save until quit; a failed one refuses."""
from __future__ import annotations

from test_ui_app import SIZE, requests, screen_text
from ui_fakes import fake_run, sync

from tuirnn.core.control import ProbeRequest, SampleRequest, SaveRequest
from tuirnn.core.events import EvalCompleted, RunFailed, RunFinished
from tuirnn.tui.app import make_app
from tuirnn.tui.messages import RunExited
from tuirnn.tui.widgets.sample_dialog import SampleDialog


@sync
async def test_finished_run_still_samples_probes_and_saves():
    app = make_app(events=fake_run())
    async with app.run_test(size=SIZE) as pilot:
        app.feed(RunFinished(iteration=500, reason="max_iters", best_val_loss=1.61,
                             best_checkpoint="/tmp/runs/tiny-demo/checkpoints/best.pt"))
        await pilot.pause()
        text = screen_text(app)
        assert "FINISHED" in text and "best.pt" in text and "1.610" in text
        await pilot.press("space")                   # nothing left to pause
        assert not app.control.paused
        await pilot.press("c")
        assert any(isinstance(r, SaveRequest) for r in requests(app.control))
        await pilot.press("s")
        assert isinstance(app.screen, SampleDialog)
        await pilot.press("enter")
        assert any(isinstance(r, SampleRequest) for r in requests(app.control))
        await pilot.press("3", "v")
        await pilot.pause()
        assert any(isinstance(r, ProbeRequest) for r in app.control.take())
        app.training_alive = True                    # the trainer serves until quit
        await pilot.press("q")
        assert app.control.stopped and app.is_running
        app.post_message(RunExited())
        await pilot.pause()
    assert app.return_code == 0


@sync
async def test_final_eval_reprobe_is_sent_with_the_finish():
    app = make_app(events=fake_run(3))
    async with app.run_test(size=SIZE) as pilot:
        app.control.take()
        app.feed(EvalCompleted(iteration=30, epoch=0.1, val_loss=2.0, best_val_loss=2.0, is_best=True),
                 RunFinished(iteration=30, reason="max_iters", best_val_loss=2.0, best_checkpoint=None))
        assert any(isinstance(r, ProbeRequest) for r in app.control.take())
        await pilot.pause()


@sync
async def test_failed_run_refuses_work_and_clears_probing():
    app = make_app(events=fake_run())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3", "v")
        await pilot.pause()
        pane = app.monitor.neuron_pane
        assert pane.message.startswith("probing")
        app.control.take()
        app.feed(RunFailed(iteration=30, error="RuntimeError: boom", traceback=""))
        await pilot.pause()
        assert "not probed" in pane.message and "failed" in pane.message
        await pilot.press("v", "s", "c")
        await pilot.pause()
        assert not isinstance(app.screen, SampleDialog) and app.control.take() == []
        assert "not probed" in pane.message


@sync
async def test_a_refused_request_ends_its_sample_and_probe_and_trainer_gone_shows():
    from tuirnn.remote.client import RequestRefused, TrainerGone
    app = make_app(events=fake_run())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("s")
        await pilot.press("enter")
        await pilot.pause()
        rid = next(r.request_id for r in app.control.take() if isinstance(r, SampleRequest))
        app.feed(RequestRefused(rid, "the run is stopping"))
        await pilot.pause()
        entry = app.run_state.find_request(rid)
        assert entry.done and "the run is stopping" in entry.text
        app.feed(TrainerGone(321, "/tmp/runs/x/checkpoints/last.pt", "the trainer process exited"))
        await pilot.pause()
        text = screen_text(app)
        assert "trainer gone" in text and "iter 321" in text and "CRASHED" in text
