"""The check podium makes of a `spark://` master before starting an application on it."""

from __future__ import annotations

import socket

import pytest

from podium.compute.errors import ClusterError
from podium.compute.standalone import check_master


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # nobody listens once it is closed


def test_a_master_that_does_not_answer_is_named_with_what_to_do() -> None:
    port = closed_port()
    with pytest.raises(ClusterError) as caught:
        check_master(f"spark://127.0.0.1:{port}")
    message = str(caught.value)
    assert f"cannot reach the standalone master spark://127.0.0.1:{port}" in message
    assert "Connection refused" in message and "spark.master" in message


def test_one_answering_master_of_a_list_is_enough_and_other_masters_are_not_checked() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        up = listener.getsockname()[1]
        check_master(f"spark://127.0.0.1:{closed_port()},127.0.0.1:{up}")
    check_master("local[2]")
    check_master("sc://nowhere:1")
