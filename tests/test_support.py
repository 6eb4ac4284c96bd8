"""tests/support: the waits every other test relies on, and the in-process CLI
runner (no device, no root)."""

from __future__ import annotations

import asyncio
import itertools
import os
import subprocess
import sys
from pathlib import Path

import pytest
from support import wait_until, wait_until_async, wgdroid_main


def test_returns_the_first_truthy_observation() -> None:
    seen = iter([0, [], "ready"])
    assert wait_until(lambda: next(seen), what="ready", timeout=5, interval=0.001) == "ready"


def test_check_decides_and_the_probe_value_is_returned() -> None:
    counter = itertools.count()
    assert wait_until(lambda: next(counter), what="three", check=lambda n: n >= 3,
                      timeout=5, interval=0.001) == 3


def test_timeout_names_what_and_the_last_observation() -> None:
    counter = itertools.count()
    with pytest.raises(AssertionError) as e:
        wait_until(lambda: {"n": next(counter), "up": False}, what="the tunnel up",
                   check=lambda d: d["up"], timeout=0.05, interval=0.01)
    msg = str(e.value)
    assert msg.startswith("timed out after 0.05 s waiting for the tunnel up (")
    assert "last observed: {'n': " in msg and "'up': False}" in msg


def test_probe_runs_once_more_at_the_deadline() -> None:
    calls: list[int] = []
    with pytest.raises(AssertionError):
        wait_until(lambda: calls.append(1), what="never", timeout=0.02, interval=1)
    assert len(calls) == 2  # once at the start, once when the pause reached the deadline


def test_ignored_errors_are_observations_others_propagate() -> None:
    tries = iter([OSError("refused"), OSError("refused"), "up"])

    def probe() -> str:
        got = next(tries)
        if isinstance(got, Exception):
            raise got
        return got

    assert wait_until(probe, what="up", ignore=(OSError,), timeout=5, interval=0.001) == "up"
    with pytest.raises(AssertionError, match=r"last observed: OSError\('refused'\)"):
        wait_until(lambda: probe_error(), what="up", ignore=(OSError,), timeout=0.02,
                   interval=0.005)
    with pytest.raises(KeyError):
        wait_until(lambda: {}["x"], what="x", ignore=(OSError,), timeout=5)


def probe_error() -> None:
    raise OSError("refused")


def test_async_probe_and_pause() -> None:
    pauses: list[float] = []
    counter = itertools.count()

    async def probe() -> int:
        return next(counter)

    async def pause(seconds: float) -> None:
        pauses.append(seconds)
        await asyncio.sleep(0)

    got = asyncio.run(wait_until_async(probe, what="two", check=lambda n: n == 2, timeout=5,
                                       interval=0.25, pause=pause))
    assert got == 2 and pauses == [0.25, 0.25]
    with pytest.raises(AssertionError, match=r"waiting for never .* last observed: False"):
        asyncio.run(wait_until_async(lambda: False, what="never", timeout=0.02, interval=0.005))


def test_the_in_process_cli_answers_as_the_process_does(tmp_path: Path) -> None:
    (tmp_path / "bad.conf").write_text("[Interface]\nListenPort = 99999\n")
    for args in (["check", "bad.conf"], ["check"], ["--version"], ["check", "nope.conf"]):
        proc = subprocess.run([sys.executable, "-m", "wgdroid", *args], cwd=tmp_path,
                              capture_output=True, text=True, timeout=60,
                              stdin=subprocess.DEVNULL)
        here = os.getcwd()
        inside = wgdroid_main(*args, cwd=tmp_path)
        assert os.getcwd() == here
        assert (inside.returncode, inside.stdout, inside.stderr) == (
            proc.returncode, proc.stdout, proc.stderr), args
