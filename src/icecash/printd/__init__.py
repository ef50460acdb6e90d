"""The print service's device layer: transports (serial, TCP, USB, file) and protocol drivers.

The service itself (``icecash printd``) builds on :func:`icecash.printd.transports.open_transport`
and the drivers in :mod:`icecash.printd.drivers`.
"""
