"""What a response's timings say: every stage the call waited in, adding up to its total."""

from ragate.server.timing import with_wait


def test_the_service_waits_count_in_the_total():
    stages = {"embed": 5.0, "rerank": 100.0, "total": 110.0}
    # The queue is added where the call ran, the wait for the models by the service around it.
    waited = with_wait(with_wait(stages, "queue", 6186.0), "models", 2500.0)
    assert list(waited)[:2] == ["models", "queue"] and waited["total"] == 110.0 + 2500.0 + 6186.0
    assert sum(v for k, v in waited.items() if k != "total") <= waited["total"]
    assert with_wait(stages, "queue", 0.0) == {"queue": 0.0, **stages}
