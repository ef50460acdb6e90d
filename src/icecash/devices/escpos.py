"""An ESC/POS receipt printer seen from the printer's side: parses the bytes it receives and renders
the paper roll to text and to a PNG image.

Understood: ESC @, ESC t (code page table), ESC ! / ESC E / ESC - / ESC G / ESC M / GS ! / GS B
(styles), ESC a (alignment), LF, HT, ESC d / ESC J (feed), GS h / GS w / GS H / GS k (barcodes,
functions A and B), GS ( k (QR model 2), GS v 0 (raster images), GS V (cuts), ESC p and DLE DC4
(drawer pulse), ESC B (buzzer), DLE EOT 1–4 and GS r 1 (status). Anything else is skipped by its
length where known and counted in ``state`` as ``unknown``.

Faults through :meth:`EscposEmulator.control`: ``paper-out`` / ``paper-in``, ``paper-near-end``,
``paper-out-after N`` (the roll ends after N more printed lines), ``paper-runout`` (after 5 lines),
``cover-open`` / ``cover-close``,
``power-loss`` / ``power-on``. While the paper is out or the cover open the printer is offline: it
answers status requests (DLE EOT) at once and holds everything else, which prints when the fault
clears (what real printers do with their receive buffer). A power loss loses what is held.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from icecash.devices.base import read_state, write_state
from icecash.printd.drivers.escpos import (
    ALIGNS,
    PROFILES,
    EscposProfile,
    Style,
    get_profile,
)

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")

CODE_PAGES = {0: "cp437", 2: "cp850", 3: "cp860", 4: "cp863", 5: "cp865", 16: "cp1252", 17: "cp866",
              18: "cp852", 19: "cp858", 46: "cp1251", 59: "cp866"}
BARCODE_NAMES = {0: "UPCA", 1: "UPCE", 2: "EAN13", 3: "EAN8", 4: "CODE39", 5: "ITF", 6: "CODABAR",
                 65: "UPCA", 66: "UPCE", 67: "EAN13", 68: "EAN8", 69: "CODE39", 70: "ITF", 71: "CODABAR",
                 72: "CODE93", 73: "CODE128"}
_ALIGN_NAMES = {v: k for k, v in ALIGNS.items()}

# fixed lengths of the commands that have one (prefix → total length)
_ESC_LEN = {b"!": 3, b"E": 3, b"-": 3, b"a": 3, b"M": 3, b"t": 3, b"d": 3, b"J": 3, b"2": 2, b"3": 3,
            b"G": 3, b"p": 5, b"B": 4, b"R": 3, b"V": 3, b"{": 3, b"i": 2, b"m": 2, b" ": 3, b"$": 4,
            b"@": 2, b"c": 4, b"U": 3, b"=": 3, b"r": 3, b"K": 3, b"L": 2, b"S": 2, b"T": 3, b"\\": 4}
_GS_LEN = {b"!": 3, b"B": 3, b"h": 3, b"w": 3, b"H": 3, b"f": 3, b"L": 4, b"W": 4, b"r": 3, b"a": 3,
           b"P": 4, b"b": 3, b"I": 3, b"E": 3, b"C": 3, b"$": 4, b"\\": 4}


# --- what is on the paper ------------------------------------------------------------------------


@dataclass
class TextLine:
    segments: list[tuple[str, Style]]
    align: str = "left"


@dataclass
class Barcode:
    kind: str
    data: str
    height: int
    module: int
    hri: int
    align: str


@dataclass
class QrCode:
    data: str
    size: int
    ec: str
    align: str


@dataclass
class Picture:
    width: int
    height: int
    bits: bytes  # packed rows, 1 = black
    align: str


@dataclass
class Feed:
    dots: int


@dataclass
class Cut:
    partial: bool


Block = TextLine | Barcode | QrCode | Picture | Feed | Cut


@dataclass
class _Mode:
    """The printer's current settings."""

    print_mode: int = 0  # ESC !
    bold: bool = False  # ESC E / ESC G
    underline: bool = False  # ESC -
    inverse: bool = False  # GS B
    small: bool = False  # ESC M
    size: int = 0  # GS ! (width-1 << 4 | height-1)
    align: str = "left"
    table: int = 0
    bar_height: int = 162
    bar_module: int = 3
    bar_hri: int = 0
    qr_size: int = 3
    qr_ec: str = "L"
    qr_data: bytes = b""

    def style(self) -> Style:
        return Style(
            bold=self.bold or bool(self.print_mode & 8), inverse=self.inverse,
            tall=bool(self.print_mode & 16) or (self.size & 0x0F) > 0,
            wide=bool(self.print_mode & 32) or (self.size >> 4) > 0,
            small=self.small or bool(self.print_mode & 1),
            underline=self.underline or bool(self.print_mode & 128), align="left")


@dataclass
class Paper:
    """The printed roll: blocks in order."""

    blocks: list[Block] = field(default_factory=list)


# --- the emulator --------------------------------------------------------------------------------


class EscposEmulator:
    """An ESC/POS printer: ``feed`` bytes in (status answers out), ``control`` for faults and inspection."""

    def __init__(self, profile: EscposProfile | str = "80mm", *, out_dir: Path | None = None,
                 state_path: Path | None = None):
        self.profile = get_profile(profile)
        self.out_dir = Path(out_dir) if out_dir else None
        self.state_path = Path(state_path) if state_path else None
        self.paper = Paper()
        self.mode = _Mode(table=0)
        self._buf = bytearray()
        self._line: list[tuple[str, Style]] = []
        self._line_dots = 0
        self.held = bytearray()
        self.powered = True
        self.paper_out = False
        self.paper_near_end = False
        self.cover_open = False
        self.paper_left: int | None = None  # lines until the roll ends (paper-out-after)
        self.counters = {"bytes": 0, "lines": 0, "cuts": 0, "drawer_pulses": 0, "beeps": 0, "unknown": 0,
                         "status_requests": 0, "receipts_saved": 0}
        self.unknown: list[str] = []
        self._piece_start = 0
        saved = read_state(self.state_path)
        if saved:
            self.counters.update({k: int(v) for k, v in saved.get("counters", {}).items() if k in self.counters})
            self.paper_out = bool(saved.get("paper_out", False))
            self.cover_open = bool(saved.get("cover_open", False))
            self.paper_near_end = bool(saved.get("paper_near_end", False))

    # --- state ---------------------------------------------------------------------------------
    @property
    def offline(self) -> bool:
        return self.paper_out or self.cover_open

    def state(self) -> dict[str, Any]:
        return {"device": "escpos", "profile": self.profile.name, "width": self.profile.width,
                "powered": self.powered, "paper_out": self.paper_out, "paper_near_end": self.paper_near_end,
                "cover_open": self.cover_open, "online": not self.offline, "held_bytes": len(self.held),
                "paper_left": self.paper_left, "codepage_table": self.mode.table,
                "counters": dict(self.counters), "unknown_commands": self.unknown[-20:]}

    def _save(self) -> None:
        if self.state_path:
            write_state(self.state_path, {"counters": self.counters, "paper_out": self.paper_out,
                                          "cover_open": self.cover_open, "paper_near_end": self.paper_near_end})

    # --- the byte stream -----------------------------------------------------------------------
    def feed(self, data: bytes) -> bytes:
        """Bytes from the host; the answers to status requests."""
        if not self.powered:
            return b""
        self.counters["bytes"] += len(data)
        if self.offline:
            return self._feed_offline(data)
        self._buf += data
        return self._run()

    def _feed_offline(self, data: bytes) -> bytes:
        """Offline: answer real-time status requests (DLE EOT n), hold the rest."""
        self.held += data
        out = bytearray()
        while True:
            at = self.held.find(b"\x10\x04")
            if at < 0 or at + 2 >= len(self.held):
                break
            out += self._status_byte(self.held[at + 2])
            del self.held[at:at + 3]
        return bytes(out)

    def _resume(self) -> bytes:
        if self.offline or not self.held:
            return b""
        pending = bytes(self.held)
        self.held.clear()
        return self.feed(pending)

    def _run(self) -> bytes:
        out = bytearray()
        buf = self._buf
        pos = 0
        while pos < len(buf):
            if self.offline:  # the roll ended mid-job: the rest waits in the buffer (status still answered)
                out += self._feed_offline(bytes(buf[pos:]))
                pos = len(buf)
                break
            used, reply = self._step(buf, pos)
            if used == 0:
                break
            out += reply
            pos += used
        del buf[:pos]
        return bytes(out)

    def _step(self, buf: bytearray, pos: int) -> tuple[int, bytes]:
        """Parse one command at ``pos``: (bytes used, reply); used 0 = incomplete, wait for more."""
        b = buf[pos]
        avail = len(buf) - pos
        if b >= 0x20:
            end = pos
            while end < len(buf) and buf[end] >= 0x20:
                end += 1
            self._text(bytes(buf[pos:end]))
            return end - pos, b""
        if b == 0x0A:
            self._newline()
            return 1, b""
        if b == 0x09:
            self._text(b" " * (8 - len("".join(s for s, _ in self._line)) % 8))
            return 1, b""
        if b == 0x10:  # DLE
            if avail < 3:
                return 0, b""
            cmd = buf[pos + 1]
            if cmd == 0x04:
                return 3, self._status_byte(buf[pos + 2])
            if cmd == 0x14:
                if avail < 5:
                    return 0, b""
                self.counters["drawer_pulses"] += 1
                return 5, b""
            return self._unknown(buf, pos, 2)
        if b == 0x1B:
            return self._esc(buf, pos, avail)
        if b == 0x1D:
            return self._gs(buf, pos, avail)
        if b == 0x1C:  # FS: kanji on/off and the like
            if avail < 2:
                return 0, b""
            return (2, b"") if buf[pos + 1] in b".&" else self._unknown(buf, pos, 2)
        return 1, b""  # CR and other controls: nothing to print

    def _unknown(self, buf: bytearray, pos: int, length: int) -> tuple[int, bytes]:
        self.counters["unknown"] += 1
        self.unknown.append(bytes(buf[pos:pos + length]).hex(" "))
        return length, b""

    def _esc(self, buf: bytearray, pos: int, avail: int) -> tuple[int, bytes]:
        if avail < 2:
            return 0, b""
        op = bytes(buf[pos + 1:pos + 2])
        length = _ESC_LEN.get(op)
        if length is None:
            return self._unknown(buf, pos, 2)
        if avail < length:
            return 0, b""
        n = buf[pos + 2] if length > 2 else 0
        m = self.mode
        if op == b"@":
            self._flush_partial()
            self.mode = _Mode()
        elif op == b"!":
            m.print_mode = n
        elif op in (b"E", b"G"):
            m.bold = bool(n & 1)
        elif op == b"-":
            m.underline = bool(n & 3)
        elif op == b"a":
            m.align = _ALIGN_NAMES.get(n % 48, "left")
        elif op == b"M":
            m.small = bool(n % 48 == 1)
        elif op == b"t":
            m.table = n
        elif op == b"d":
            self._flush_partial()
            self._feed_lines(n)
        elif op == b"J":
            self._flush_partial()
            self._add(Feed(n))
        elif op == b"p":
            self.counters["drawer_pulses"] += 1
        elif op == b"B":
            self.counters["beeps"] += n
        elif op in (b"i", b"m"):
            self._cut(op == b"m")
        return length, b""

    def _gs(self, buf: bytearray, pos: int, avail: int) -> tuple[int, bytes]:
        if avail < 2:
            return 0, b""
        op = bytes(buf[pos + 1:pos + 2])
        m = self.mode
        if op == b"V":
            if avail < 3:
                return 0, b""
            kind = buf[pos + 2]
            if kind in (65, 66):
                if avail < 4:
                    return 0, b""
                self._flush_partial()
                self._feed_lines(min(buf[pos + 3], 10) // 3)
                self._cut(kind == 66)
                return 4, b""
            self._cut(kind in (1, 49))
            return 3, b""
        if op == b"k":
            if avail < 4:
                return 0, b""
            kind = buf[pos + 2]
            if kind <= 6:  # function A: NUL-terminated
                end = buf.find(b"\x00", pos + 3)
                if end < 0:
                    return 0, b""
                self._barcode(kind, bytes(buf[pos + 3:end]))
                return end + 1 - pos, b""
            n = buf[pos + 3]
            if avail < 4 + n:
                return 0, b""
            self._barcode(kind, bytes(buf[pos + 4:pos + 4 + n]))
            return 4 + n, b""
        if op == b"(":
            if avail < 5:
                return 0, b""
            size = buf[pos + 3] | buf[pos + 4] << 8
            if avail < 5 + size:
                return 0, b""
            if buf[pos + 2] == ord("k"):
                self._qr_command(bytes(buf[pos + 5:pos + 5 + size]))
            else:
                self._unknown(buf, pos, 3)
            return 5 + size, b""
        if op == b"v":
            if avail < 8:
                return 0, b""
            width = buf[pos + 4] | buf[pos + 5] << 8
            height = buf[pos + 6] | buf[pos + 7] << 8
            size = width * height
            if avail < 8 + size:
                return 0, b""
            self._flush_partial()
            self._add(Picture(width * 8, height, bytes(buf[pos + 8:pos + 8 + size]), m.align))
            return 8 + size, b""
        length = _GS_LEN.get(op)
        if length is None:
            return self._unknown(buf, pos, 2)
        if avail < length:
            return 0, b""
        n = buf[pos + 2]
        if op == b"!":
            m.size = n
        elif op == b"B":
            m.inverse = bool(n & 1)
        elif op == b"h":
            m.bar_height = max(1, n)
        elif op == b"w":
            m.bar_module = max(1, min(n, 6))
        elif op == b"H":
            m.bar_hri = n % 48
        elif op == b"r":
            return length, self._status_byte(4) if n in (1, 49) else b"\x00"
        return length, b""

    # --- what the commands do ------------------------------------------------------------------
    def _status_byte(self, n: int) -> bytes:
        self.counters["status_requests"] += 1
        value = 0x12
        if n == 1:
            value |= 0x08 if self.offline else 0
        elif n == 2:
            value |= (0x04 if self.cover_open else 0) | (0x20 if self.paper_out else 0)
        elif n == 3:
            pass
        elif n == 4:
            value |= (0x0C if self.paper_near_end else 0) | (0x60 if self.paper_out else 0)
        else:
            return b""
        return bytes((value,))

    def _decode(self, data: bytes) -> str:
        return data.decode(CODE_PAGES.get(self.mode.table, "cp437"), errors="replace")

    def _cell(self, style: Style) -> int:
        base = self.profile.dots // (self.profile.width_small if style.small else self.profile.width)
        return base * (2 if style.wide else 1)

    def _text(self, data: bytes) -> None:
        style = self.mode.style()
        cell = self._cell(style)
        text = self._decode(data)
        chunk = []
        for ch in text:
            if self._line_dots + cell > self.profile.dots:  # the printer wraps a too long line
                if chunk:
                    self._line.append(("".join(chunk), style))
                    chunk = []
                self._newline()
            chunk.append(ch)
            self._line_dots += cell
        if chunk:
            self._line.append(("".join(chunk), style))

    def _newline(self) -> None:
        if self._line:
            self._add(TextLine(self._line, self.mode.align))
        else:
            self._add(TextLine([], self.mode.align))
        self._line = []
        self._line_dots = 0

    def _flush_partial(self) -> None:
        if self._line:
            self._newline()

    def _feed_lines(self, n: int) -> None:
        for _ in range(n):
            self._add(TextLine([], "left"))

    def _add(self, block: Block) -> None:
        self.paper.blocks.append(block)
        if isinstance(block, TextLine | Barcode | QrCode | Picture):
            self.counters["lines"] += 1
            if self.paper_left is not None:
                self.paper_left -= 1
                if self.paper_left <= 0:
                    self.paper_left = None
                    self.paper_out = True

    KEEP_PIECES = 200  # cut pieces kept in memory (and in paper.txt / the roll image: the last ROLL_PIECES)
    ROLL_PIECES = 20

    def _cut(self, partial: bool) -> None:
        self._flush_partial()
        self.paper.blocks.append(Cut(partial))
        self.counters["cuts"] += 1
        if self.out_dir:
            self._save_piece()
        self._trim()
        self._save()

    def _trim(self) -> None:
        """Forget the oldest pieces beyond KEEP_PIECES (a demo printer runs for days)."""
        cuts = [i for i, block in enumerate(self.paper.blocks) if isinstance(block, Cut)]
        if len(cuts) > self.KEEP_PIECES:
            drop = cuts[len(cuts) - self.KEEP_PIECES - 1] + 1
            del self.paper.blocks[:drop]
            self._piece_start = max(0, self._piece_start - drop)

    def _barcode(self, kind: int, data: bytes) -> None:
        self._flush_partial()
        name = BARCODE_NAMES.get(kind, f"TYPE{kind}")
        text = data.decode("ascii", errors="replace")
        if name == "CODE128" and text.startswith("{"):
            text = text[2:].replace("{{", "{")
        m = self.mode
        self._add(Barcode(name, text, m.bar_height, m.bar_module, m.bar_hri, m.align))

    def _qr_command(self, body: bytes) -> None:
        if len(body) < 2 or body[0] != ord("1"):
            return
        fn = body[1]
        m = self.mode
        if fn == ord("C") and len(body) >= 3:
            m.qr_size = max(1, min(body[2], 16))
        elif fn == ord("E") and len(body) >= 3:
            m.qr_ec = {48: "L", 49: "M", 50: "Q", 51: "H"}.get(body[2], "L")
        elif fn == ord("P"):
            m.qr_data = body[3:]
        elif fn == ord("Q"):
            self._flush_partial()
            self._add(QrCode(m.qr_data.decode("utf-8", errors="replace"), m.qr_size, m.qr_ec, m.align))

    # --- faults and inspection ------------------------------------------------------------------
    def control(self, command: str) -> str:
        words = command.split()
        if not words:
            return "error: empty command"
        name, args = words[0], words[1:]
        if name == "help":
            return ("paper-out paper-in paper-near-end paper-runout paper-out-after N cover-open cover-close "
                    "power-loss power-on state text paper png PATH save clear")
        if name == "state":
            return json.dumps(self.state(), ensure_ascii=False)
        if name == "text":
            return json.dumps(self.text(), ensure_ascii=False)
        if name == "paper":  # the lines of the roll, as the other emulators answer it
            return json.dumps(self.text().splitlines()[-500:], ensure_ascii=False)
        if name == "png":
            if not args:
                return "error: png PATH"
            Path(args[0]).write_bytes(self.png())
            return f"ok {args[0]}"
        if name == "save":
            if not self.out_dir:
                return "error: no --out directory"
            self._save_roll()
            return f"ok {self.out_dir}"
        if name == "clear":
            self.paper = Paper()
            self._piece_start = 0
            return "ok"
        if name == "power-loss":
            self.powered = False
            self.held.clear()
            self._buf.clear()
            self._line, self._line_dots = [], 0
            self.mode = _Mode()
            return "ok"
        reply = b""
        if name == "power-on":
            self.powered = True
        elif name == "paper-out":
            self.paper_out = True
        elif name == "paper-in":
            self.paper_out = self.paper_near_end = False
            self.paper_left = None
            reply = self._resume()
        elif name == "paper-near-end":
            self.paper_near_end = True
        elif name == "paper-runout":  # the roll ends a few lines into the next job
            self.paper_left = 5
        elif name == "paper-out-after":
            if len(args) != 1 or not args[0].isdigit() or int(args[0]) < 1:
                return "error: paper-out-after N (lines, N >= 1)"
            self.paper_left = int(args[0])
        elif name == "cover-open":
            self.cover_open = True
        elif name == "cover-close":
            self.cover_open = False
            reply = self._resume()
        else:
            return f"error: unknown command {name!r} (try help)"
        self._save()
        return "ok" if not reply else "ok " + reply.hex()

    # --- rendering -----------------------------------------------------------------------------
    def pieces(self) -> list[list[Block]]:
        """The roll cut into pieces (the last one maybe not cut yet)."""
        out: list[list[Block]] = [[]]
        for block in self.paper.blocks:
            out[-1].append(block)
            if isinstance(block, Cut):
                out.append([])
        if not out[-1]:
            out.pop()
        return out

    def text(self, blocks: list[Block] | None = None) -> str:
        """The paper as text: one line per printed line, aligned within the width, codes as [brackets]."""
        return render_text(self.paper.blocks if blocks is None else blocks, self.profile)

    def png(self, blocks: list[Block] | None = None) -> bytes:
        """The paper as a PNG image, one dot per pixel."""
        image = render_image(self.paper.blocks if blocks is None else blocks, self.profile)
        out = io.BytesIO()
        image.save(out, format="PNG", optimize=False)
        return out.getvalue()

    def _save_piece(self) -> None:
        assert self.out_dir is not None
        self.out_dir.mkdir(parents=True, exist_ok=True)
        blocks = self.paper.blocks[self._piece_start:]
        self._piece_start = len(self.paper.blocks)
        self.counters["receipts_saved"] += 1
        stem = self.out_dir / f"receipt-{self.counters['receipts_saved']:05d}"
        stem.with_suffix(".txt").write_text(self.text(blocks), encoding="utf-8")
        stem.with_suffix(".png").write_bytes(self.png(blocks))
        self._save_roll()

    def _save_roll(self) -> None:
        """paper.txt / paper.png: the last ROLL_PIECES pieces of the roll (and what follows them)."""
        assert self.out_dir is not None
        self.out_dir.mkdir(parents=True, exist_ok=True)
        blocks = [block for piece in self.pieces()[-self.ROLL_PIECES:] for block in piece]
        (self.out_dir / "paper.txt").write_text(self.text(blocks), encoding="utf-8")
        (self.out_dir / "paper.png").write_bytes(self.png(blocks))


# --- text rendering ------------------------------------------------------------------------------


def _place(text: str, cols: int, width: int, align: str) -> str:
    pad = max(0, width - cols)
    if align == "center":
        return " " * (pad // 2) + text
    if align == "right":
        return " " * pad + text
    return text


def render_text(blocks: list[Block], profile: EscposProfile) -> str:
    width = profile.width
    out: list[str] = []
    for block in blocks:
        if isinstance(block, TextLine):
            text = "".join(s for s, _ in block.segments)
            cols = sum(len(s) * (2 if st.wide else 1) for s, st in block.segments)
            out.append(_place(text, cols, width, block.align).rstrip())
        elif isinstance(block, Barcode):
            label = f"[{block.kind} {block.data}]"
            out.append(_place(label, len(label), width, block.align))
        elif isinstance(block, QrCode):
            label = f"[QR {block.data}]"
            out.append(_place(label, len(label), width, block.align))
        elif isinstance(block, Picture):
            label = f"[IMAGE {block.width}x{block.height}]"
            out.append(_place(label, len(label), width, block.align))
        elif isinstance(block, Feed):
            if block.dots >= 24:
                out.extend([""] * (block.dots // 24))
        elif isinstance(block, Cut):
            out.append(("- " if block.partial else "=") * (width // (2 if block.partial else 1)))
    return "\n".join(out) + ("\n" if out else "")


# --- image rendering -----------------------------------------------------------------------------


class _Fonts:
    """DejaVu Sans Mono (regular and bold) sized to the printer's character cells; Pillow's default if absent."""

    _cache: dict[tuple[int, bool], Any] = {}

    @classmethod
    def get(cls, size: int, bold: bool) -> Any:
        from PIL import ImageFont

        key = (size, bold)
        if key not in cls._cache:
            path = FONT_DIR / ("DejaVuSansMono-Bold.ttf" if bold else "DejaVuSansMono.ttf")
            try:
                cls._cache[key] = ImageFont.truetype(str(path), size)
            except OSError:
                cls._cache[key] = ImageFont.load_default(size)
        return cls._cache[key]


_tiles: dict[tuple[str, Style, int, int], Any] = {}


def _glyph(ch: str, style: Style, cell_w: int, cell_h: int) -> Any:
    """One character cell (before double width/height), black on white or inverse."""
    from PIL import Image, ImageDraw

    key = (ch, replace(style, tall=False, wide=False, align="left"), cell_w, cell_h)
    tile = _tiles.get(key)
    if tile is None:
        fg, bg = (255, 0) if style.inverse else (0, 255)
        tile = Image.new("L", (cell_w, cell_h), bg)
        draw = ImageDraw.Draw(tile)
        font = _Fonts.get(max(6, int(cell_w / 0.6)), style.bold)
        draw.text((cell_w / 2, cell_h * 0.8), ch, font=font, fill=fg, anchor="ms")
        if style.underline:
            draw.line([(0, cell_h - 2), (cell_w, cell_h - 2)], fill=fg, width=2)
        if len(_tiles) < 20000:
            _tiles[key] = tile
    return tile


def _aligned_x(width: int, dots: int, align: str) -> int:
    if align == "center":
        return max(0, (dots - width) // 2)
    if align == "right":
        return max(0, dots - width)
    return 0


def _render_line(block: TextLine, profile: EscposProfile) -> Any:
    from PIL import Image

    base_h = 24
    cells = []
    for text, style in block.segments:
        cell_w = profile.dots // (profile.width_small if style.small else profile.width)
        cell_h = 17 if style.small else base_h
        for ch in text:
            tile = _glyph(ch, style, cell_w, cell_h)
            if style.wide or style.tall:
                tile = tile.resize((cell_w * (2 if style.wide else 1), cell_h * (2 if style.tall else 1)))
            cells.append(tile)
    height = max([base_h] + [t.height for t in cells]) + 6
    line = Image.new("L", (profile.dots, height), 255)
    x = _aligned_x(sum(t.width for t in cells), profile.dots, block.align)
    for tile in cells:
        line.paste(tile, (x, height - 3 - tile.height))
        x += tile.width
    return line


def _render_barcode(block: Barcode, profile: EscposProfile) -> Any:
    from PIL import Image, ImageDraw

    pattern = _bar_pattern(block.kind, block.data)
    module = block.module
    text_h = 20 if block.hri else 0
    if pattern is None:
        img = Image.new("L", (profile.dots, 30), 255)
        ImageDraw.Draw(img).text((4, 4), f"[{block.kind} {block.data}]", font=_Fonts.get(16, False), fill=0)
        return img
    bar_w = min(len(pattern) * module, profile.dots)
    img = Image.new("L", (profile.dots, block.height + text_h * (2 if block.hri == 3 else 1) + 8), 255)
    draw = ImageDraw.Draw(img)
    x0 = _aligned_x(bar_w, profile.dots, block.align)
    top = 4 + (text_h if block.hri in (1, 3) else 0)
    for i, bit in enumerate(pattern):
        if bit == "1":
            draw.rectangle([x0 + i * module, top, x0 + (i + 1) * module - 1, top + block.height - 1], fill=0)
    font = _Fonts.get(15, False)
    if block.hri in (1, 3):
        draw.text((x0 + bar_w / 2, 2), block.data, font=font, fill=0, anchor="mt")
    if block.hri in (2, 3):
        draw.text((x0 + bar_w / 2, top + block.height + 2), block.data, font=font, fill=0, anchor="mt")
    return img


def _bar_pattern(kind: str, data: str) -> str | None:
    try:
        import barcode as pybarcode
    except ImportError:  # pragma: no cover - python-escpos brings it
        return None
    names = {"EAN13": ("ean13", 12), "EAN8": ("ean8", 7), "UPCA": ("upca", 11), "CODE39": ("code39", None),
             "CODE128": ("code128", None), "ITF": ("itf", None)}
    if kind not in names:
        return None
    name, keep = names[kind]
    try:
        cls = pybarcode.get_barcode_class(name)
        code = cls(data[:keep] if keep else data, add_checksum=False) if name == "code39" else \
            cls(data[:keep] if keep else data)
        return code.build()[0]
    except Exception:  # noqa: BLE001 - a code the library refuses is drawn as its text
        return None


def _render_qr(block: QrCode, profile: EscposProfile) -> Any:
    from PIL import Image

    from icecash.printd.drivers.escpos import qr_image

    img = qr_image(block.data or " ", block.size, block.ec).convert("L")
    if img.width > profile.dots:
        img = img.resize((profile.dots, profile.dots))
    line = Image.new("L", (profile.dots, img.height), 255)
    line.paste(img, (_aligned_x(img.width, profile.dots, block.align), 0))
    return line


def _render_picture(block: Picture, profile: EscposProfile) -> Any:
    from PIL import Image

    ink = Image.frombytes("1", (block.width, block.height), block.bits)
    img = ink.convert("L").point(lambda p: 0 if p else 255)
    line = Image.new("L", (max(profile.dots, block.width), block.height), 255)
    line.paste(img, (_aligned_x(block.width, profile.dots, block.align), 0))
    return line


def render_image(blocks: list[Block], profile: EscposProfile, margin: int = 16) -> Any:
    """The paper roll as a Pillow image (white paper with a grey margin, cuts drawn across)."""
    from PIL import Image, ImageDraw

    strips = []
    for block in blocks:
        if isinstance(block, TextLine):
            strips.append(_render_line(block, profile))
        elif isinstance(block, Barcode):
            strips.append(_render_barcode(block, profile))
        elif isinstance(block, QrCode):
            strips.append(_render_qr(block, profile))
        elif isinstance(block, Picture):
            strips.append(_render_picture(block, profile))
        elif isinstance(block, Feed):
            strips.append(Image.new("L", (profile.dots, max(1, block.dots)), 255))
        elif isinstance(block, Cut):
            strip = Image.new("L", (profile.dots, 16), 255)
            draw = ImageDraw.Draw(strip)
            step = 12 if block.partial else 6
            for x in range(0, profile.dots, step * 2):
                draw.line([(x, 8), (x + step, 8)], fill=120, width=2)
            strips.append(strip)
    height = sum(s.height for s in strips) + 2 * margin
    roll = Image.new("L", (profile.dots + 2 * margin, max(height, 2 * margin + 24)), 255)
    y = margin
    for strip in strips:
        roll.paste(strip.crop((0, 0, profile.dots, strip.height)), (margin, y))
        y += strip.height
    return roll


# --- entry point ---------------------------------------------------------------------------------


def make_emulator(state_path: Path | None, *, width: int | str | None = None, out: Path | str | None = None,
                  profile: str = "80mm", **options: Any) -> EscposEmulator:
    """The ``icecash emulator escpos`` device: ``profile`` (80mm, 80mm-42, 58mm, old), ``width`` in characters,
    ``out`` a directory for each cut receipt (receipt-NNNNN.txt/.png) and the whole roll (paper.txt/.png)."""
    if options:
        raise ValueError(f"unknown ESC/POS emulator options: {', '.join(sorted(options))}")
    if profile not in PROFILES:
        raise ValueError(f"profile: one of {', '.join(PROFILES)}")
    from icecash.core.errors import InvalidInput

    try:
        chosen = get_profile(profile, int(width) if width else None)
    except InvalidInput as exc:
        raise ValueError(exc.message_en) from None
    return EscposEmulator(chosen, out_dir=Path(out) if out else None, state_path=state_path)
