"""Discovery of serial fiscal registrars: each port under ``/dev/serial/by-id`` (the stable names of
USB-serial adapters) is probed with the Shtrih-M short status and the ATOL status command at the
usual speeds; what answers is offered to the admin to adopt as a printer.

Probing only reads status: nothing is printed or changed on a device. Ports already used by a
printer are reported as adopted and not probed (a probe must not cut into a running job).
``ICECASH_PRINTD_DISCOVER`` adds more paths or glob patterns (``:``-separated), e.g. an emulator's
``--link`` path in tests and demos.
"""

from __future__ import annotations

import glob
import os
import re
from typing import Any

from icecash.core.errors import DomainError, InvalidInput

BY_ID = "/dev/serial/by-id/*"
SPEEDS = (115200, 57600, 9600)
PROBE_TIMEOUT = 0.3


def candidate_paths() -> list[str]:
    patterns = [BY_ID, *[p for p in os.environ.get("ICECASH_PRINTD_DISCOVER", "").split(":") if p]]
    seen: dict[str, None] = {}
    for pattern in patterns:
        for path in sorted(glob.glob(pattern)):
            seen.setdefault(path, None)
    return list(seen)


def _hint(path: str) -> list[str]:
    """Which protocol to try first, from the adapter's by-id name."""
    name = os.path.basename(path).lower()
    if "atol" in name or "fprint" in name:
        return ["atol", "shtrih"]
    return ["shtrih", "atol"]


def probe_shtrih(path: str, speed: int) -> dict[str, Any] | None:
    from .drivers.shtrih import ShtrihM

    try:
        with ShtrihM.open(f"serial:{path}?baudrate={speed}", timeout=PROBE_TIMEOUT, answer_timeout=PROBE_TIMEOUT * 3,
                          retries=1) as device:
            device.short_status()
            try:
                model = device.device_type().name
            except DomainError:
                model = "Штрих-М"
            return {"type": "shtrih", "speed": speed, "model": model}
    except DomainError:
        return None


def probe_atol(path: str, speed: int) -> dict[str, Any] | None:
    from .drivers.atol import AtolRegistrar

    try:
        with AtolRegistrar.open(f"serial:{path}?baudrate={speed}", timeout=PROBE_TIMEOUT, answer_timeout=PROBE_TIMEOUT * 3,
                                retries=1) as device:
            status = device.status()
            return {"type": "atol", "speed": speed, "model": f"АТОЛ (модель {status.model})"}
    except DomainError:
        return None


PROBES = {"shtrih": probe_shtrih, "atol": probe_atol}


def _device_of(url: str) -> str:
    return url.removeprefix("serial:").split("?", 1)[0]


def scan(service: Any) -> list[dict[str, Any]]:
    """Probe every candidate port; one entry per port: type (None if nothing answered), speed, model."""
    used = {_device_of(p["url"]): p["name"] for p in service.printers() if p["url"]}
    found = []
    for path in candidate_paths():
        real = os.path.realpath(path)
        adopted = used.get(path) or used.get(real)
        entry: dict[str, Any] = {"device": path, "type": None, "speed": None, "model": None, "adopted": adopted,
                                 "suggested_name": _suggest(path, used)}
        if not adopted:
            for kind in _hint(path):
                for speed in SPEEDS:
                    result = PROBES[kind](path, speed)
                    if result:
                        entry.update(result)
                        break
                if entry["type"]:
                    break
            if not entry["type"]:
                entry["error"] = "не отвечает / no answer"
        found.append(entry)
    return found


def _suggest(path: str, used: dict[str, str]) -> str:
    base = re.sub(r"[^A-Za-z0-9_.\-]", "-", os.path.basename(path))[:40].strip("-") or "registrar"
    taken = set(used.values())
    name, n = base, 2
    while name in taken:
        name, n = f"{base}-{n}", n + 1
    return name


def adopt(service: Any, device: str, name: str) -> dict[str, Any]:
    """Add a discovered registrar as a printer (probing it again: only what answers is adopted)."""
    if device not in candidate_paths():
        raise InvalidInput("not_discovered", "Такого порта нет среди найденных", "No such port among the discovered ones",
                           field="device")
    for kind in _hint(device):
        for speed in SPEEDS:
            result = PROBES[kind](device, speed)
            if result:
                printer = service.save_printer(name, {"type": kind, "url": f"serial:{device}?baudrate={speed}",
                                                      "comment": str(result.get("model") or "")[:256]}, create=True)
                for entry in service.discovered:
                    if entry["device"] == device:
                        entry["adopted"] = name
                return printer
    raise InvalidInput("no_answer", "Устройство на этом порту не ответило как регистратор",
                       "The device on this port did not answer as a registrar", field="device")
