"""Protocol drivers over a :class:`~icecash.printd.transports.Transport`.

* :mod:`.shtrih` — Shtrih-M fiscal registrars (our own implementation of the published protocol);
* ``escpos`` and ``atol`` — ESC/POS printers and ATOL registrars.
"""
