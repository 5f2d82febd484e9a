"""Per-request identifiers: AWS's formats, and unique across the processes `serve --workers N` forks."""

from __future__ import annotations

import base64
import os
import re

from apiway.core import request_ids

UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
EXTENDED = re.compile(r"^[A-Za-z0-9_-]{15}=$")


def _ids() -> str:
    return " ".join([request_ids.request_id(), request_ids.extended_request_id(),
                     request_ids.trace_header(None, 1_700_000_000), str(request_ids.span_id())])


def test_formats_and_no_repeats() -> None:
    made = [request_ids.request_id() for _ in range(5000)]
    assert all(UUID4.match(i) for i in made) and len(set(made)) == len(made)
    assert all(request_ids.is_uuid(i) for i in made[:10])
    extended = [request_ids.extended_request_id() for _ in range(1000)]
    assert all(EXTENDED.match(i) for i in extended) and len(set(extended)) == len(extended)
    # base64 of 11 bytes, written as base64 writes them (the bits after the 88th zero)
    assert all(base64.urlsafe_b64encode(base64.urlsafe_b64decode(i)).decode() == i for i in extended)
    assert {len(base64.urlsafe_b64decode(i)) for i in extended} == {11}


def test_forked_processes_make_ids_of_their_own() -> None:
    _ids()
    seen = [_ids()]
    for _ in range(3):
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: its ids to the parent, then out without running the test session's exit code
            os.write(write_fd, _ids().encode())
            os._exit(0)
        os.close(write_fd)
        with os.fdopen(read_fd, "rb") as pipe:
            seen.append(pipe.read().decode())
        os.waitpid(pid, 0)
    parts = [ids.split(" ") for ids in seen]
    for column in zip(*parts, strict=True):  # request id, extended id, trace header, span id
        assert len(set(column)) == len(column), column
