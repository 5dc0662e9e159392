"""What a response's timings say: every stage the call waited in, adding up to its total."""

from ragate.server.service.process import with_waits


def test_the_service_waits_count_in_the_total():
    stages = {"embed": 5.0, "rerank": 100.0, "total": 110.0}
    waited = with_waits(stages, models_ms=2500.0, queue_ms=6186.0)
    assert list(waited)[:2] == ["models", "queue"] and waited["total"] == 110.0 + 2500.0 + 6186.0
    assert sum(v for k, v in waited.items() if k != "total") <= waited["total"]
    # Models already loaded: no "models" stage, and the queue is always said (0 when nobody was ahead).
    assert with_waits(stages, models_ms=0.2, queue_ms=0.0) == {"queue": 0.0, **stages}
