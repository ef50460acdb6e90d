"""The central server (IceServ + IceSite done right): firms, shops, tills, exchange, back office, reports."""
