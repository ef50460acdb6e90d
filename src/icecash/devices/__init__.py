"""Device emulators: the Shtrih-M and ATOL fiscal registrars and an ESC/POS printer, seen from
the device's side, served over a real pseudo-terminal or TCP (see :mod:`icecash.devices.base`).

Each emulator module exposes ``make_emulator(state_path: Path | None, **options)``.
"""
