"""Python worker processes against the real Swift collector (`CHORUS_BIN`), end to end.

Each test starts `chorus collect` on a free port with its own store, runs real worker
processes that log through the client (pyzmq, not the Swift client), stops the collector
with SIGTERM and reads the result back with `chorus export`.
"""

from __future__ import annotations

import itertools
import json
import math
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from collector import (
    Collector,
    collector_binary,
    expected_history,
    first_difference,
    free_port_pair,
    reduction,
    run_workers,
    same,
    start_worker,
    summary,
)
from support import case_scripts, client_cases


def unique_run(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}"


def script(collector: Collector, run: str, rank: int, world_size: int, calls: list[list[Any]]) -> dict[str, Any]:
    return {
        "init": {"run_id": run, "endpoint": collector.endpoint, "rank": rank, "world_size": world_size},
        "calls": calls + [["finish", {}]],
    }


def test_several_worker_processes_merge_by_step_and_rank_and_reduce_exactly(
    collector: Collector, tmp_path: Path
) -> None:
    run, world_size, steps = unique_run("ranks"), 3, 40
    logged: dict[int, list[tuple[int, dict[str, Any]]]] = {}
    scripts = []
    for rank in range(world_size):
        records = []
        for step in range(steps):
            data: dict[str, Any] = {
                "loss": 2.0 / (step + 1) + rank * 0.013 + (step % 7) * 1e-3,
                "tokens": 1000 * (rank + 1) + step,
                "acc": min(1.0, 0.1 + step * 0.02 + rank * 0.001),
            }
            if rank == 1 and step % 5 == 0:
                data["val/acc"] = 0.5 + step * 0.01
            records.append((step, data))
        logged[rank] = records
        # Rank 2 logs its even steps first, then the odd ones: lower steps are sent, not dropped.
        order = records if rank != 2 else records[0::2] + records[1::2]
        calls = [["log", {"data": data, "step": step}] for step, data in order]
        scripts.append(script(collector, run, rank, world_size, calls))
    run_workers(scripts, tmp_path)
    collector.stop()

    history = collector.history(run)
    expected = expected_history(logged)
    assert first_difference(history, expected) is None, first_difference(history, expected)

    reductions = collector.export(run, "steps")
    assert [row["_step"] for row in reductions] == list(range(steps))
    for row in reductions:
        assert row["missing"] == []
        for key in ("loss", "tokens", "acc", "val/acc"):
            values = {rank: data[key] for s, rank, data in expected if s == row["_step"] and key in data}
            if values:
                assert same(row[key], reduction(values)), (row["_step"], key, row[key], reduction(values))

    computed = collector.export(run, "summary")
    for key in ("loss", "tokens", "acc", "val/acc"):
        want = summary(expected, key)
        got = {field: computed[key][field] for field in want}
        assert same(got, want), (key, got, want)


@pytest.mark.parametrize("case", client_cases(), ids=lambda case: case["id"])
def test_the_shared_client_cases_through_the_collector(
    collector: Collector, tmp_path: Path, case: dict[str, Any]
) -> None:
    run = unique_run(case["id"])
    run_workers(list(case_scripts(case, collector.endpoint, run).values()), tmp_path)
    collector.stop()
    history = collector.history(run)
    assert first_difference(history, case["expect"]["history"]) is None, first_difference(
        history, case["expect"]["history"])


def test_nan_and_infinities_survive_and_are_counted_as_nonfinite(collector: Collector, tmp_path: Path) -> None:
    run = unique_run("nonfinite")
    values = {0: [math.nan, 1.0, -math.inf], 1: [2.0, math.inf, 3.0]}
    scripts = [
        script(collector, run, rank, 2, [["log", {"data": {"x": value}}] for value in series])
        for rank, series in values.items()
    ]
    run_workers(scripts, tmp_path)
    collector.stop()

    history = collector.history(run)
    assert same(history, expected_history({r: [(s, {"x": v}) for s, v in enumerate(vs)] for r, vs in values.items()}))
    for row in collector.export(run, "steps"):
        step = row["_step"]
        assert same(row["x"], reduction({rank: series[step] for rank, series in values.items()}))
    computed = collector.export(run, "summary")["x"]
    assert (computed["count"], computed["nonfinite"]) == (6, 3)
    assert same(computed["mean"], 2.0)


def test_integers_big_and_small_arrive_as_protocol_md_says(collector: Collector, tmp_path: Path) -> None:
    run = unique_run("integers")
    data = [
        {"max": 2**63 - 1, "min": -(2**63), "big": 2**64, "huge": 3**100, "half": 2**62},
        {"max": 2**63 - 1, "min": -(2**63), "big": 2**64, "huge": 3**100, "half": 2**62},
    ]
    scripts = [script(collector, run, rank, 2, [["log", {"data": data[rank]}]]) for rank in range(2)]
    run_workers(scripts, tmp_path)
    collector.stop()

    (_, _, row), _ = collector.history(run)
    assert row["max"] == 2**63 - 1 and isinstance(row["max"], int)
    assert row["min"] == -(2**63) and isinstance(row["min"], int)
    assert row["big"] == float(2**64) and isinstance(row["big"], float)
    assert row["huge"] == float(3**100)
    (step,) = collector.export(run, "steps")
    assert step["half"]["sum"] == float(2**63), "the sum does not fit 64 bits: a double"
    assert step["big"]["sum"] == float(2**65)


def test_nested_dicts_flatten_into_slash_keys(collector: Collector, tmp_path: Path) -> None:
    run = unique_run("nested")
    calls = [["log", {"data": {"train": {"loss": 0.5, "acc": {"top1": 0.9, "top5": 1}}, "lr": 0.1}}]]
    run_workers([script(collector, run, 0, 1, calls)], tmp_path)
    collector.stop()
    assert collector.history(run) == [[0, 0, {"train/loss": 0.5, "train/acc/top1": 0.9, "train/acc/top5": 1,
                                              "lr": 0.1}]]


def test_define_metric_and_the_user_summary_reach_the_collector(collector: Collector, tmp_path: Path) -> None:
    run = unique_run("define")
    scripts = [
        script(collector, run, rank, 2, [
            ["define_metric", {"name": "val/*", "reduce": "max", "goal": "max"}],
            *[["log", {"data": {"val/acc": 0.1 * step + 0.01 * rank}}] for step in range(4)],
            ["summary", {"note": "done", "best_epoch": 3}],
        ])
        for rank in range(2)
    ]
    run_workers(scripts, tmp_path)
    collector.stop()
    history = collector.history(run)
    computed = collector.export(run, "summary")
    want = summary(history, "val/acc", headline="max")
    assert same({field: computed["val/acc"][field] for field in want}, want)
    assert same(computed["val/acc"]["best"], 0.31)
    assert computed["_user"] == {"note": "done", "best_epoch": 3}


def test_a_worker_that_exits_right_after_finish_loses_nothing(collector: Collector, tmp_path: Path) -> None:
    run = unique_run("exit")
    calls = [["log", {"data": {"i": step, "loss": 1 / (step + 1)}}] for step in range(3000)]
    exiting = {**script(collector, run, 0, 1, calls), "exit": "immediately"}
    run_workers([exiting], tmp_path)
    collector.stop()
    history = collector.history(run)
    assert [(step, data["i"]) for step, _, data in history] == [(step, step) for step in range(3000)]


def test_curve_lets_in_allowed_workers_only(tmp_path: Path) -> None:
    import sqlite3

    import zmq

    server_public, server_secret = zmq.curve_keypair()
    member_public, member_secret = zmq.curve_keypair()
    _, stranger_secret = zmq.curve_keypair()
    (tmp_path / "collector.key").write_bytes(server_secret + b"\n")
    (tmp_path / "allowed.keys").write_bytes(b"# workers\n" + member_public + b"\n")
    collector = Collector(
        collector_binary(),
        tmp_path,
        "--curve-secret-key-file",
        str(tmp_path / "collector.key"),
        "--allow-keys-file",
        str(tmp_path / "allowed.keys"),
    )
    try:
        member, stranger = unique_run("member"), unique_run("stranger")
        calls = [["log", {"data": {"loss": step / 10}}] for step in range(20)]
        keys = {"CHORUS_CURVE_SERVER_KEY": server_public.decode()}
        run_workers(
            [
                {
                    **script(collector, member, 0, 1, calls),
                    "environ": {**keys, "CHORUS_CURVE_SECRET_KEY": member_secret.decode()},
                },
                {
                    "init": {"run_id": stranger, "endpoint": collector.endpoint},
                    "calls": calls + [["finish", {"timeout": 2}]],
                    "environ": {**keys, "CHORUS_CURVE_SECRET_KEY": stranger_secret.decode()},
                },
            ],
            tmp_path,
        )
    finally:
        collector.stop()
    assert [data["loss"] for _, _, data in collector.history(member)] == [step / 10 for step in range(20)]
    with sqlite3.connect(collector.store) as store:
        runs = {name for (name,) in store.execute("SELECT name FROM runs")}
    assert stranger not in runs, "a worker with a key the collector does not allow got data in"


def test_a_collector_killed_mid_run_and_restarted_on_its_store_loses_nothing(tmp_path: Path) -> None:
    binary = collector_binary()
    first = Collector(binary, tmp_path)
    run, steps = unique_run("restart"), 3000
    logged = [(step, {"i": step, "loss": 1 / (step + 1)}) for step in range(steps)]
    calls: list[list[Any]] = []
    for step, data in logged:
        calls.append(["log", {"data": data}])
        if step % 100 == 99:  # about 1.5 s of logging, so that the kill lands in the middle
            calls.append(["sleep", {"seconds": 0.05}])

    def stored() -> int:
        try:
            return len(first.history(run))
        except AssertionError:  # chorus export: no such run in the store yet
            return 0

    calls.append(["finish", {"timeout": 60}])
    worker_script = {"init": {"run_id": run, "endpoint": first.endpoint}, "calls": calls, "report": True}
    worker = start_worker(worker_script, tmp_path / "worker.json")
    second = None
    try:
        deadline = time.monotonic() + 30.0
        while not stored() and time.monotonic() < deadline:
            time.sleep(0.05)
        # A little later, so that the worker has most likely heard an ack from this collector and
        # resends on hearing the next one's; if not, the stall rule resends 5 s later.
        time.sleep(0.2)
        first.process.kill()
        first.process.wait()
        stored_rows = stored()
        assert 0 < stored_rows < steps, f"the kill did not land mid-run: {stored_rows} of {steps} rows stored"
        time.sleep(0.3)  # the worker logs on while no collector listens
        second = Collector(binary, tmp_path, port=first.port, log_name="restarted.log")
        output, _ = worker.communicate(timeout=120)
        assert worker.returncode == 0, output
        second.stop()
    finally:
        for process in (worker, first.process, second and second.process):
            if process is not None and process.poll() is None:
                process.kill()
    history = second.history(run)
    assert first_difference(history, expected_history({0: logged})) is None, first_difference(
        history, expected_history({0: logged}))
    report = json.loads(output.splitlines()[-1])
    assert report["confirmed"] is True and report["unconfirmed"] == 0 and report["dropped"] == 0, report


def status_column(status: str, name: str) -> list[str]:
    """The values of `name` in `chorus status`'s table of ranks and incarnations, one per row.

    The table's columns after the first are right-aligned, so a value ends where its heading does.
    """
    lines = status.splitlines()
    for index, line in enumerate(lines):
        words = line.split()
        if words[:1] == ["rank"] and name in words:
            end = line.index(f" {name}") + 1 + len(name)
            rows = itertools.takewhile(lambda row: row.startswith("  "), lines[index + 1:])
            return [row[:end].split()[-1] for row in rows]
    raise AssertionError(f"chorus status shows no {name!r} column:\n{status}")


def test_records_too_large_or_not_encodable_are_skipped_and_the_run_is_still_confirmed(
    collector: Collector, tmp_path: Path
) -> None:
    run = unique_run("skip")
    logged: list[tuple[int, dict[str, Any]]] = []
    calls: list[list[Any]] = []
    for step in range(30):
        if step == 10:
            calls.append(["log", {"data": {"blob": "x" * (1 << 20)}}])
        elif step == 20:
            calls.append(["log_integer", {"key": "huge", "digits": 5000}])
        else:
            logged.append((step, {"i": step, "loss": 1 / (step + 1)}))
            calls.append(["log", {"data": logged[-1][1]}])
    calls.append(["finish", {}])
    worker = start_worker({"init": {"run_id": run, "endpoint": collector.endpoint}, "calls": calls, "report": True},
                          tmp_path / "worker.json")
    output, _ = worker.communicate(timeout=60)
    assert worker.returncode == 0, output
    report = json.loads(output.splitlines()[-1])
    assert report["confirmed"] is True and report["unconfirmed"] == 0 and report["dropped"] == 2, report
    collector.stop()
    assert status_column(collector.status(run), "skipped") == ["2"]
    history = collector.history(run)
    assert first_difference(history, expected_history({0: logged})) is None, first_difference(
        history, expected_history({0: logged}))


def test_records_dropped_from_the_full_queue_while_no_collector_runs_are_skipped_and_the_run_confirmed(
    tmp_path: Path,
) -> None:
    binary = collector_binary()
    port = free_port_pair()
    run, steps = unique_run("dropped"), 20_000
    calls: list[list[Any]] = [["log", {"data": {"i": step}}] for step in range(steps)]
    calls += [["say", {"text": "logged"}], ["finish", {"timeout": 20}]]
    init = {"run_id": run, "endpoint": f"tcp://127.0.0.1:{port}", "max_queued": 50}
    worker = start_worker({"init": init, "calls": calls, "report": True}, tmp_path / "worker.json")
    collector = None
    try:
        assert worker.stdout is not None
        assert worker.stdout.readline().strip() == "logged", "the worker did not get through its records"
        collector = Collector(binary, tmp_path, port=port)
        output, _ = worker.communicate(timeout=120)
        assert worker.returncode == 0, output
        collector.stop()
    finally:
        for process in (worker, collector and collector.process):
            if process is not None and process.poll() is None:
                process.kill()
    report = json.loads(output.splitlines()[-1])
    assert report["dropped"] > 0, f"nothing was dropped, so this tests nothing: {report}"
    assert report["confirmed"] is True and report["unconfirmed"] == 0, report
    assert status_column(collector.status(run), "skipped") == [str(report["dropped"])]
    steps_kept = [data["i"] for _, _, data in collector.history(run)]
    assert len(steps_kept) == steps - report["dropped"]
    assert steps_kept[-50:] == list(range(steps - 50, steps)), "the newest records are kept"
