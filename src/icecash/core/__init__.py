"""The domain core: pure Python, no I/O. Money, barcodes, receipts, X/Z reports.

Nothing here imports from the service layers, touches a database, a file or the network.
"""
