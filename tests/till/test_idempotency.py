"""An Idempotency-Key and the action it guards commit together or not at all."""

from sqlalchemy import text

from icecash.store.db import writing

MILK = "4601234567893"


def test_same_key_adds_one_line_and_replays_the_answer(client, cashier):
    headers = {**cashier, "Idempotency-Key": "scan-1"}
    first = client.post("/api/v1/receipt/scan", json={"barcode": MILK}, headers=headers)
    second = client.post("/api/v1/receipt/scan", json={"barcode": MILK}, headers=headers)
    assert first.status_code == second.status_code == 200
    assert second.headers.get("Idempotent-Replay") == "true"
    assert first.json() == second.json()
    assert len(client.get("/api/v1/receipt", headers=cashier).json()["lines"]) == 1


def test_a_refusal_is_remembered_and_undone_whole(client, cashier):
    headers = {**cashier, "Idempotency-Key": "pay-empty"}
    first = client.post("/api/v1/receipt/pay", json={"cash": "10"}, headers=headers)
    assert first.status_code == 409 and first.json()["error"]["code"] == "empty_receipt"
    # The receipt fills up afterwards, but the key still answers what it answered.
    client.post("/api/v1/receipt/scan", json={"barcode": MILK}, headers=cashier)
    again = client.post("/api/v1/receipt/pay", json={"cash": "100"}, headers=headers)
    assert again.status_code == 409 and again.headers.get("Idempotent-Replay") == "true"


def test_action_rolls_back_when_its_key_cannot_be_stored(client, cashier, till):
    """A real database fault while recording the key: the line it guarded must not exist either."""
    with writing(till.engine) as conn:
        conn.execute(text("ALTER TABLE idempotency_keys RENAME TO idempotency_keys_gone"))
    failed = client.post("/api/v1/receipt/scan", json={"barcode": MILK}, headers={**cashier, "Idempotency-Key": "k"})
    assert failed.status_code == 500
    assert "Traceback" not in failed.text
    with writing(till.engine) as conn:
        conn.execute(text("ALTER TABLE idempotency_keys_gone RENAME TO idempotency_keys"))
    current = client.get("/api/v1/receipt", headers=cashier)
    assert current.status_code == 404 or current.json()["lines"] == []
