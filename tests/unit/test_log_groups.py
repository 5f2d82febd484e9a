"""The log-group store: events written by the writer thread, read back in order across streams and processes,
rotation, retention, and the management operations."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from apiway.observe.log_groups import GroupExists, LogGroups, NoSuchGroup, NoSuchStream, StreamExists
from apiway.observe.rotating import LogLimits


def test_events_put_are_read_back_in_time_order_across_streams(tmp_path: Path) -> None:
    groups = LogGroups(tmp_path)
    a, b = groups.stream("/aws/lambda/Fn", "2026/01/01/[$LATEST]aa"), groups.stream("/aws/lambda/Fn", "b")
    a.put(1000, "first")
    b.put(1500, "second\nwith a newline")  # one event, newline and all
    a.put(2000, "third")
    groups.flush()
    events = groups.events("/aws/lambda/Fn")
    assert [(e.timestamp, e.stream, e.message) for e in events] == [
        (1000, "2026/01/01/[$LATEST]aa", "first"), (1500, "b", "second\nwith a newline"),
        (2000, "2026/01/01/[$LATEST]aa", "third")]
    assert [e.message for e in groups.events("/aws/lambda/Fn", start=1500, end=2000)] == ["second\nwith a newline"]
    assert [e.message for e in groups.events("/aws/lambda/Fn", ["b"])] == ["second\nwith a newline"]
    assert groups.group_names() == ["/aws/lambda/Fn"]
    assert sorted(s.name for s in groups.streams("/aws/lambda/Fn")) == ["2026/01/01/[$LATEST]aa", "b"]
    info = groups.stream_info("/aws/lambda/Fn", "2026/01/01/[$LATEST]aa")
    assert info.first_event == 1000 and info.stored_bytes > 0
    assert groups.tail("/aws/lambda/Fn", 1200, limit=1) == [{"timestamp": 2000, "stream": "2026/01/01/[$LATEST]aa",
                                                            "message": "third"}]
    assert groups.tail("nope", 0) == []
    groups.close()


def test_any_text_is_read_back_as_it_was_put_and_files_of_earlier_versions_are_read(tmp_path: Path) -> None:
    groups = LogGroups(tmp_path)
    stream = groups.stream("g", "s")
    texts = ["plain", '"quoted" at the start', "tab\there", "back\\slash \\n not a newline", "two\nlines\n",
             "", " leading space", "ünïcödé ✓", "\r\x00\x1b control", "a lone \ud800 surrogate"]
    for n, text in enumerate(texts):
        stream.put(1000 + n, text)
    groups.flush()
    stream.put(2000, "a batch of its own, no escape")
    groups.flush()
    read = [e.message for e in groups.events("g")]
    assert read == [*texts[:-1], "a lone ? surrogate", "a batch of its own, no escape"]
    assert [e.seq for e in groups.events("g")] == list(range(len(texts) + 1))
    written = next((tmp_path / "g" / "s").iterdir())
    assert written.read_bytes().count(b"\n") == len(texts) + 1  # one line per event
    # A line as earlier versions wrote it: the message as a JSON string after a space.
    with written.open("ab") as out:
        out.write(b'3000 3001 99 "old \\"format\\"\\nline"\n')
    assert groups.events("g")[-1].message == 'old "format"\nline'
    groups.close()


def test_the_writer_thread_writes_without_a_flush(tmp_path: Path) -> None:
    groups = LogGroups(tmp_path)
    groups.stream("g", "s").put(1, "by the thread")
    reader = LogGroups(tmp_path)  # another process's view: reads only what is on disk
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            if [e.message for e in reader.events("g")] == ["by the thread"]:
                break
        except NoSuchGroup:
            pass
        time.sleep(0.05)
    else:
        pytest.fail("the writer thread wrote nothing")
    groups.close()


def test_processes_write_their_own_files_and_every_reader_sees_all(tmp_path: Path) -> None:
    groups = LogGroups(tmp_path)
    stream = groups.stream("g", "s")
    stream.put(10, "parent")
    groups.flush()
    pid = os.fork()
    if pid == 0:  # a forked worker: its own writer thread and its own file, for the stream it inherited too
        try:
            stream.put(20, "child")
            deadline = time.monotonic() + 10
            while any(e.message == "child" for e in LogGroups(tmp_path).events("g")) is False:
                if time.monotonic() > deadline:
                    os._exit(1)
                time.sleep(0.05)
        finally:
            os._exit(0)
    assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0  # the child's thread wrote it
    assert [e.message for e in groups.events("g")] == ["parent", "child"]
    assert len(os.listdir(tmp_path / "g" / "s")) == 2
    groups.close()


def test_a_stream_file_rotates_at_the_size_bound(tmp_path: Path) -> None:
    groups = LogGroups(tmp_path, LogLimits(max_bytes=200, files=3))
    stream = groups.stream("g", "s")
    for n in range(40):
        stream.put(n, f"line {n:02d} " + "x" * 20)
        groups.flush()
    files = sorted(os.listdir(tmp_path / "g" / "s"))
    assert len(files) == 3 and all((tmp_path / "g" / "s" / f).stat().st_size <= 200 for f in files)
    messages = [e.message for e in groups.events("g")]
    assert messages[-1].startswith("line 39") and messages == sorted(messages)  # the newest kept, in order
    groups.close()


def test_retention_deletes_files_not_written_for_that_long(tmp_path: Path) -> None:
    groups = LogGroups(tmp_path, LogLimits(retention_days=7))
    groups.stream("old", "s").put(1, "old")
    groups.stream("kept", "s").put(1, "kept")
    groups.stream("policy", "s").put(1, "a day")
    groups.flush()
    groups.set_retention("policy", 1)
    long_ago = time.time() - 8 * 86400
    for group in ("old", "kept", "policy"):
        path = tmp_path / group / "s"
        for file in path.iterdir():
            os.utime(file, (long_ago if group == "old" else time.time() - 2 * 86400,) * 2)
        os.utime(path, (long_ago,) * 2)
    groups.sweep()
    assert groups.events("old") == [] and groups.streams("old") == []
    assert [e.message for e in groups.events("kept")] == ["kept"]
    assert groups.events("policy") == []  # its own 1 day over the default 7
    groups.stream("old", "s").put(2, "again")  # the writer's deleted file is opened anew
    groups.flush()
    assert [e.message for e in groups.events("old")] == ["again"]
    groups.close()


def test_management_operations(tmp_path: Path) -> None:
    groups = LogGroups(tmp_path)
    groups.create_group("/my/group")
    with pytest.raises(GroupExists):
        groups.create_group("/my/group")
    groups.create_stream("/my/group", "s1")
    with pytest.raises(StreamExists):
        groups.create_stream("/my/group", "s1")
    with pytest.raises(NoSuchGroup):
        groups.create_stream("/nope", "s1")
    with pytest.raises(NoSuchStream):
        groups.stream_info("/my/group", "s2")
    groups.set_retention("/my/group", 30)
    (info,) = groups.groups("/my")
    assert info.name == "/my/group" and info.retention_days == 30 and info.creation_time > 0
    assert groups.groups("/other") == []
    groups.delete_stream("/my/group", "s1")
    assert groups.streams("/my/group") == []
    groups.delete_group("/my/group")
    assert groups.group_names() == []
    with pytest.raises(NoSuchGroup):
        groups.delete_group("/my/group")
    groups.create_group("..")  # names that are no file names are still names
    assert groups.group_names() == [".."]


def test_tail_reads_the_newest_events_of_a_large_file(tmp_path: Path) -> None:
    groups = LogGroups(tmp_path)
    stream = groups.stream("big", "s")
    for n in range(4000):  # ~400 KB: more than tail reads of a file
        stream.put(n, f"event {n:04d} " + "y" * 80)
    groups.flush()
    tail = groups.tail("big", 0, limit=3)
    assert [e["timestamp"] for e in tail] == [3997, 3998, 3999]
    assert len(groups.events("big")) == 4000
    groups.close()
