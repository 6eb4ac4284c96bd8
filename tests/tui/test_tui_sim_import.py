"""The TUI's import of a .zip against a simulated phone: real adb server,
real su (its prompts counted), the phone's own store."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from typing import Any

import pytest
from support.su import su_prompts
from tui_sample import Notes, sync, until

from wgdroid.tui.app import WgdroidApp

pytestmark = [pytest.mark.sim, pytest.mark.slow]

STORE = "/data/misc/wireguard"


@sync
async def test_a_zip_of_n_tunnels_is_imported_with_one_su(sim_phone: Any,
                                                          tmp_path: Path) -> None:
    """The import pushed each tunnel of a zip in its own root shell: N su
    prompts for N tunnels. Now one, whatever N; a tunnel the phone already
    has is refused (its config stays as it was) and the others land."""
    demo = sim_phone.run_in_phone(f"cat {STORE}/demo.conf").stdout.decode()
    names = [f"zip{i}" for i in range(5)]
    texts = {n: re.sub(r"(?m)^Address = .*$", f"Address = 10.95.{i}.2/32", demo)
             for i, n in enumerate(names)}
    archive = tmp_path / "tunnels.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for name in [*names[:2], "demo", *names[2:]]:
            zf.writestr(f"{name}.conf", texts.get(name, demo + "# not the phone's\n"))
    app = WgdroidApp(serial=sim_phone.serial, offer_sim=False)
    notes = Notes()
    async with app.run_test(size=(120, 36), message_hook=notes) as pilot:
        await until(pilot, "the first poll", lambda: "demo" in app.session.tunnel_names())
        app.polling = False  # no status poll inside the count
        await app.workers.wait_for_complete()
        with su_prompts(sim_phone) as prompts:
            app.flows.import_path(str(archive))
            await until(pilot, "the import", lambda: notes.titled("Import"), timeout=60)
    said = notes.titled("Import")[0].message
    assert prompts.count == 1, said
    assert said.startswith(f"imported {len(names)} of {len(names) + 1} tunnels"), said
    assert "demo: a tunnel named 'demo' already exists" in said
    for name in names:
        stored = sim_phone.run_in_phone(f"stat -c %a {STORE}/{name}.conf; cat {STORE}/{name}.conf")
        same = stored.stdout.decode() == "600\n" + texts[name]  # apart: no key in a diff
        assert same, f"{name} was not stored as it was in the zip"
    kept = sim_phone.run_in_phone(f"cat {STORE}/demo.conf").stdout.decode() == demo
    assert kept, "the phone's demo config changed"
