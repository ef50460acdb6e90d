"""The Shtrih-M link layer: ENQ/ACK/NAK, bad check bytes, lost frames and answers, timeouts.

Every recovery is checked to execute the command exactly once (cash moves once).
"""

from __future__ import annotations

import time

import pytest

from icecash.printd.drivers.shtrih import ACK, ENQ, NAK, STX, ShtrihM, lrc, make_frame
from icecash.printd.errors import TransportError
from icecash.printd.transports import open_transport

PWD30 = (30).to_bytes(4, "little")


def test_idle_device_answers_enq_with_nak_and_bad_lrc_with_nak(shtrih_proc):
    with open_transport(shtrih_proc.url) as t:
        t.write(bytes([ENQ]))
        assert t.read_exact(1) == bytes([NAK])
        bad = bytearray(make_frame(0x10, PWD30))
        bad[-1] ^= 0x55
        t.write(bytes(bad))
        assert t.read_exact(1) == bytes([NAK])  # damaged frame: "send it again"
        t.write(make_frame(0x10, PWD30))
        assert t.read_exact(1) == bytes([ACK])
        head = t.read_exact(2)
        assert head[0] == STX
        body = t.read_exact(head[1] + 1)
        assert body[0] == 0x10 and body[1] == 0x00 and lrc(head[1:2] + body[:-1]) == body[-1]
        t.write(bytes([ACK]))
        t.write(bytes([ENQ]))
        assert t.read_exact(1) == bytes([NAK])  # the answer was taken: idle again


def test_damaged_answer_is_nakked_and_sent_again(shtrih: ShtrihM, shtrih_proc):
    shtrih.open_shift()
    shtrih_proc.control("corrupt-next-answer")
    shtrih.cash_in(10000)
    assert shtrih.link.stats["naks_sent"] == 1
    assert shtrih_proc.state_json()["cash"] == 10000  # executed once


def test_lost_command_frame_is_sent_again_once(shtrih: ShtrihM, shtrih_proc):
    shtrih.open_shift()
    shtrih_proc.control("ignore-next-frame")
    shtrih.cash_in(20000)
    assert shtrih.link.stats["resent"] == 1
    assert shtrih_proc.state_json()["cash"] == 20000


def test_lost_answer_is_fetched_with_enq_not_by_running_the_command_again(shtrih: ShtrihM, shtrih_proc):
    shtrih.open_shift()
    shtrih.link.answer_timeout = 0.5  # how long the host waits before asking with ENQ
    shtrih_proc.control("lose-next-answer")
    doc = shtrih.cash_in(30000)
    state = shtrih_proc.state_json()
    assert state["cash"] == 30000 and state["doc_number"] == doc


def test_a_stale_answer_left_by_an_earlier_host_is_drained(shtrih_proc):
    with open_transport(shtrih_proc.url) as t:
        t.write(make_frame(0x10, PWD30))
        assert t.read_exact(1) == bytes([ACK])
        time.sleep(0.2)
        t.reset_input()  # that host died before reading and confirming the answer
    with ShtrihM.open(shtrih_proc.url, byte_timeout=0.2, answer_timeout=2) as device:
        assert device.short_status().mode_number == 4
        assert device.link.stats["stale_answers"] == 1


def test_a_silent_device_is_a_named_timeout(shtrih: ShtrihM, shtrih_proc):
    shtrih_proc.control("power-loss")
    started = time.monotonic()
    with pytest.raises(TransportError) as caught:
        shtrih.short_status()
    assert time.monotonic() - started < 3
    assert caught.value.code == "shtrih_no_link"
    assert "ENQ" in caught.value.message_en and caught.value.message_ru.startswith("Нет связи")


def test_unknown_command_is_named(shtrih: ShtrihM):
    from icecash.printd.drivers.shtrih_errors import ShtrihError

    with pytest.raises(ShtrihError) as caught:
        shtrih.command(0x9F, PWD30)
    assert caught.value.device_code == 0x37
    assert "не поддерживается" in caught.value.message_ru


def test_busy_printing_is_asked_again_not_executed_twice(shtrih: ShtrihM, shtrih_proc):
    assert shtrih_proc.control("busy-printing 3") == "ok"
    shtrih.print_line("одна строка")
    assert shtrih.link.stats["busy_retries"] == 3
    assert shtrih_proc.paper().count("одна строка") == 1
    shtrih_proc.control("busy-printing 1000")
    shtrih.link.answer_timeout = 0.3
    from icecash.printd.drivers.shtrih_errors import ShtrihError

    with pytest.raises(ShtrihError) as caught:  # it stays busy: the error is raised, by name
        shtrih.print_line("ещё")
    assert caught.value.device_code == 0x50 and "печать предыдущей" in caught.value.message_ru


def test_bytes_on_the_wire_are_counted(shtrih: ShtrihM):
    before_out, before_in = shtrih.transport.bytes_written, shtrih.transport.bytes_read
    shtrih.beep()
    # ENQ, the 7-byte frame 13h + password, the final ACK; in: NAK, ACK, the 5-byte answer
    assert shtrih.transport.bytes_written - before_out == 1 + 8 + 1
    assert shtrih.transport.bytes_read - before_in == 1 + 1 + 6
