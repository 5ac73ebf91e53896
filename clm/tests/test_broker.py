"""The serverless broker of `make run` (clm.broker): whole messages only, and a bad file is
set aside instead of stopping the worker."""

from pathlib import Path

import pytest
from kombu import Connection
from kombu.transport import virtual

from clm.broker import Transport


@pytest.fixture
def connection(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    # kombu keeps declared exchanges per process; each test has its own folders.
    monkeypatch.setattr(Transport, "global_state", virtual.BrokerState())
    queue = tmp_path / "queue"
    queue.mkdir()
    options = {
        "data_folder_in": str(queue),
        "data_folder_out": str(queue),
        "control_folder": str(tmp_path / "control"),
    }
    with Connection("filesystem://", transport="clm.broker:Transport",
                    transport_options=options) as conn:  # fmt: skip
        yield conn


def test_messages_arrive_whole_and_in_order(connection, tmp_path):
    q = connection.SimpleQueue("jobs")
    for i in range(3):
        q.put({"n": i})
    assert not list((tmp_path / "queue").glob("*.part"))  # renamed into place once written
    got = [q.get(timeout=2) for _ in range(3)]
    assert [m.payload for m in got] == [{"n": 0}, {"n": 1}, {"n": 2}]
    for m in got:
        m.ack()
    assert not [p for p in (tmp_path / "queue").iterdir() if p.name.endswith(".msg")]
    q.close()


def test_a_file_being_written_is_not_taken_and_a_bad_one_is_set_aside(connection, tmp_path):
    q = connection.SimpleQueue("jobs")
    folder = tmp_path / "queue"
    # What kombu's own transport leaves for an instant: the final name, nothing written yet.
    (folder / "000000000000001_x.jobs.msg").write_bytes(b"")
    (folder / "000000000000002_y.jobs.msg.part").write_bytes(b'{"half')
    q.put({"n": "good"})

    message = q.get(timeout=2)

    assert message.payload == {"n": "good"}
    assert (tmp_path / "failed" / "000000000000001_x.jobs.msg").exists()
    assert (folder / "000000000000002_y.jobs.msg.part").exists()  # left for its writer
    q.close()
