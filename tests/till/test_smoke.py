"""A whole sale through the API: the path every other test builds on."""

from tests.conftest import login


def test_sale_pay_and_z(client, cashier):
    added = client.post("/api/v1/receipt/scan", json={"barcode": "4601234567893"}, headers=cashier)
    assert added.status_code == 200, added.text
    assert added.json()["total"] == "89.90"
    paid = client.post("/api/v1/receipt/pay", json={"cash": "100"}, headers=cashier)
    assert paid.status_code == 200, paid.text
    assert paid.json()["status"] == "paid"
    assert paid.json()["change"] == "10.10"
    z = client.post("/api/v1/reports/z", headers=cashier)
    assert z.status_code == 200, z.text
    assert z.json()["revenue"] == "89.90"
    assert z.json()["lines"][0]["code"] == "1001"


def test_seller_cannot_pay(client, seller):
    client.post("/api/v1/receipt/scan", json={"barcode": "4601234567893"}, headers=seller)
    refused = client.post("/api/v1/receipt/pay", json={"cash": "100"}, headers=seller)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "forbidden"


def test_live_process_answers(live_till):
    import httpx

    with httpx.Client(base_url=live_till.url) as http:
        headers = login(http, "kassir")
        assert http.post("/api/v1/receipt/scan", json={"barcode": "4601234567893"}, headers=headers).status_code == 200
