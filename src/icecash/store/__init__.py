"""Storage adapters: engine set-up and migrations shared by every service."""
