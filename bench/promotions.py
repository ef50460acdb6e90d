#!/usr/bin/env python3
"""Promotions benchmark: recalculating a 100-line receipt with 10, 100, 1,000 and 10,000 active promotions.

Pure domain code, no process or database: what the till does on every change of a receipt is
``calculate_with_promotions(facts, promotion_set, context)`` (``core.promo``), so that call is
timed, from the cashier's lines to the calculated receipt with reasons.

The promotions are generated in the proportions of a real chain's set, all active (in date, in
the time window, every weekday), over a catalogue of --items items in 200 groups:

* 60 % on a few item codes (``DO_POS_CODE_IN {f} (c1,…,c5)``): a discount, a promotion price,
  "buy N get one" gifts, a bonus rate; half of them with an ``IF_GROUP_PROPERTY`` condition;
* 20 % on goods lists of 50 codes (``GROUPS (list)``), 15 % on catalogue groups;
* 5 % on the whole receipt (``IF_HEAD_PROPERTY`` with ``DO_SET_HEAD_DISCOUNT``, ``DO_SET_HEAD_BONUS``,
  ``DO_SUMMA_ADDPOS_PROPORCIONAL``, half of them ``AFTER_CALC``), which every receipt must evaluate.

The receipt: --lines (100) lines of random items, 1–3 pieces each, a 3 % discount card.

The baseline, measured in the same run and interleaved round by round: ``receipt.calculate`` of
the same 100 lines without promotions (what the till did before promotions existed). Ratios are
ours / baseline; the growth column is the time ratio from the previous size (×10 promotions:
linear growth is ×10). Targets (issue 6): ≤ 20 ms at 1,000 promotions, growth no worse than linear.
A measurement, not a test: it exits 0 whether the targets are met or not.

    .venv/bin/python bench/promotions.py [--items 20000] [--lines 100] [--rounds 30] [--seed 1]
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import statistics
import time
from datetime import datetime

from _common import console, ms, percentile, progress, ratio, table, verdict

from icecash.core.promo import PromoContext, PromotionSet, ReceiptFacts, calculate_with_promotions, parse_promotion
from icecash.core.receipt import ItemSnapshot, LineInput, calculate

SIZES = (10, 100, 1_000, 10_000)
TARGET_AT_1000 = 0.020
MOMENT = datetime(2026, 11, 20, 12, 0)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Recalculation time of a receipt with 10…10,000 active promotions, beside the plain calculation.",
    )
    parser.add_argument("--items", type=int, default=20_000, help="catalogue size (default: %(default)s)")
    parser.add_argument("--lines", type=int, default=100, help="receipt lines (default: %(default)s)")
    parser.add_argument("--rounds", type=int, default=30, help="timed recalculations per size, at least 5 (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default: %(default)s)")
    args = parser.parse_args(argv)
    if args.rounds < 5:
        parser.error("--rounds must be at least 5")
    if args.items < args.lines or args.lines < 1:
        parser.error("--items must be at least --lines, and --lines at least 1")
    return args


def catalogue(items: int, rng: random.Random) -> dict[str, ItemSnapshot]:
    out = {}
    for n in range(items):
        price = rng.randrange(1990, 199_000, 10)
        code = str(100_000 + n)
        out[code] = ItemSnapshot(
            code=code, name=f"Товар №{n + 1}", price=price, min_price=price * 8 // 10,
            max_discount_bp=rng.choice((0, 500, 1000, 2000, 3000)), group_code=f"g{n % 200}",
            alcohol=n % 23 == 0, no_discount=n % 41 == 0, litres_ml=500 if n % 23 == 0 else 0,
        )  # fmt: skip
    for n in range(20):  # gift items
        code = str(900_000 + n)
        out[code] = ItemSnapshot(code=code, name=f"Подарок №{n + 1}", price=9900, max_discount_bp=10_000, group_code="gifts")
    return out


def promotion_texts(count: int, codes: list[str], rng: random.Random) -> list[tuple[str, str]]:
    """(if, then) texts in the proportions of the module docstring."""
    texts = []
    for n in range(count):
        kind = n % 20
        rate = rng.choice(("5", "10", "15%", "0.20", "sets.discount"))
        gift = str(900_000 + rng.randrange(20))
        if kind < 12:
            target = f"DO_POS_CODE_IN {{f}} ({','.join(rng.sample(codes, 5))})"
        elif kind < 16:
            target = f"DO_POS_CODE_IN {{f}} GROUPS (list{rng.randrange(200)})"
        elif kind < 19:
            target = f"DO_POS_CODE_IN {{f}} (g{rng.randrange(200)})\nDO_POS_PROPERTY {{f}} (alcohol?=?0, price?>=?50)"
        else:
            after = "SET AFTER_CALC TRUE\n" if n % 2 else ""
            head = rng.choice((
                f"DO_SET_HEAD_DISCOUNT (DCF,{rate})", "DO_SET_HEAD_BONUS (5,keep)",
                f"DO_SUMMA_ADDPOS_PROPORCIONAL (code={gift},summa=5000,count=1) [discount=100]",
            ))  # fmt: skip
            texts.append((f"{after}IF_HEAD_PROPERTY (summa?>=?{rng.randrange(500, 20_000)}, card?<>?VIP)", head))
            continue
        effect = rng.choice((
            f"DO_GROUP_DISCOUNT {{f}} (PROMO,{rate})", "DO_GROUP_SET_PROPERTY {f} [price=99.90]",
            f"DO_GROUP_ADDPOS_PROPORCIONAL {{f}} (code={gift},gcount=3,count=1) [discount=100]",
            "DO_GROUP_BONUS {f} (7,default)",
        ))  # fmt: skip
        condition = "IF_GROUP_PROPERTY {f} (quantity?>=?2, sum?>=?100)" if n % 2 else ""
        texts.append((condition, f"{target}\nDO_FILTERS_GROUP\n{effect}"))
    return texts


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    rng = random.Random(args.seed)
    items = catalogue(args.items, rng)
    codes = [c for c in items if not c.startswith("9")]
    goods_lists = {f"list{k}": rng.sample(codes, 50) for k in range(200)}
    chosen = rng.sample(codes, args.lines)
    lines = tuple(LineInput(items[c], rng.randint(1, 3) * 1000, items[c].price) for c in chosen)
    facts = ReceiptFacts(lines, MOMENT, card="2220001", card_rate_bp=300, bonus_card="7770001", place="1", kassa="1")
    context = PromoContext(variables={"discount": "12"}, goods_lists=goods_lists, lookup=items.get)

    console.print(f"[bold]Promotions[/]: a {args.lines}-line receipt, catalogue of {args.items:,} items, "
                  f"{args.rounds} timed recalculations per size")  # fmt: skip
    sets = {}
    build_times = {}
    all_texts = promotion_texts(SIZES[-1], codes, rng)
    with progress() as bar:
        task = bar.add_task("parsing and indexing promotions", total=sum(SIZES))
        for size in SIZES:
            started = time.perf_counter()
            parsed = [parse_promotion(n, f"Акция {n}", if_text, then_text) for n, (if_text, then_text) in enumerate(all_texts[:size])]
            sets[size] = PromotionSet(parsed, goods_lists)
            build_times[size] = time.perf_counter() - started
            bar.update(task, advance=size)

    # Warm up, and check the work is real: the same result every time, promotions applied.
    results = {size: calculate_with_promotions(facts, sets[size], context) for size in SIZES}
    for size in SIZES:
        assert calculate_with_promotions(facts, sets[size], context) == results[size]

    gc.collect()
    gc.freeze()
    baseline: list[float] = []
    baseline_cpu: list[float] = []
    timings: dict[int, list[float]] = {size: [] for size in SIZES}
    cpu: dict[int, list[float]] = {size: [] for size in SIZES}
    with progress() as bar:
        task = bar.add_task("recalculating", total=args.rounds)
        for _ in range(args.rounds):
            cpu_started, started = time.thread_time(), time.perf_counter()
            calculate(lines, facts.card_rate_bp)
            baseline.append(time.perf_counter() - started)
            baseline_cpu.append(time.thread_time() - cpu_started)
            for size in SIZES:
                cpu_started, started = time.thread_time(), time.perf_counter()
                calculate_with_promotions(facts, sets[size], context)
                timings[size].append(time.perf_counter() - started)
                cpu[size].append(time.thread_time() - cpu_started)
            bar.update(task, advance=1)

    base, base_cpu = statistics.median(baseline), statistics.median(baseline_cpu)
    out = table("Recalculating the receipt (medians of the rounds; CPU = this thread's CPU time)",
                ("promotions", "wall", "wall p95", "CPU", "CPU vs baseline", "CPU growth", "applied", "added",
                 "discount ₽", "parse+index"))  # fmt: skip
    out.add_row("baseline: receipt.calculate, no promotions", ms(base), ms(percentile(baseline, 95)), ms(base_cpu), "1.0×",
                "—", "—", "—", f"{calculate(lines, facts.card_rate_bp).discount / 100:.2f}", "—")  # fmt: skip
    previous = None
    for size in SIZES:
        median, median_cpu = statistics.median(timings[size]), statistics.median(cpu[size])
        r = results[size]
        growth = f"×{median_cpu / previous:.1f}" if previous else "—"
        out.add_row(f"{size:,}", ms(median), ms(percentile(timings[size], 95)), ms(median_cpu), ratio(median_cpu, base_cpu),
                    growth, str(len(r.evaluation.applied)), str(len(r.added)), f"{r.calculation.discount / 100:.2f}",
                    ms(build_times[size]))  # fmt: skip
        previous = median_cpu
    console.print(out)
    try:
        load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
        console.print(f"[dim]load average {load} on {os.cpu_count()} CPUs: wall times include waiting for a CPU[/]")
    except OSError:
        pass
    for name, figures in (("wall", timings), ("CPU", cpu)):
        at_1000 = statistics.median(figures[1_000])
        at_10000 = statistics.median(figures[10_000])
        growth_total = at_10000 / statistics.median(figures[10])
        console.print(f"{name}: ≤ 20 ms at 1,000 promotions: {ms(at_1000)} {verdict(at_1000, TARGET_AT_1000)}; "
                      f"growth ×{at_10000 / at_1000:.1f} from 1,000 to 10,000 (linear: ×10) {verdict(at_10000 / at_1000, 10)}, "
                      f"×{growth_total:.1f} from 10 to 10,000 (linear: ×1000) {verdict(growth_total, 1000)}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
