"""Make the examples' sample data: ``data/sales.csv`` and the multi-sheet ``data/sales.xlsx``.

The data are invented and seeded, so every run writes the same values (the committed files are this script's
output; ``tests/test_examples.py`` checks that they still are). Needs only the standard library and openpyxl.

    python examples/make_data.py            # writes examples/data/
"""

from __future__ import annotations

import csv
import datetime as dt
import random
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SEED = 2025
YEAR = 2025

#: product -> (category, unit price, unit cost)
PRODUCTS: dict[str, tuple[str, float, float]] = {
    "Espresso machine": ("Appliances", 249.0, 161.0),
    "Grinder": ("Appliances", 89.0, 52.0),
    "Kettle": ("Appliances", 39.0, 21.0),
    "Coffee beans 1 kg": ("Consumables", 24.0, 13.5),
    "Filter papers": ("Consumables", 4.5, 1.6),
    "Descaler": ("Consumables", 9.0, 3.2),
    "Mug set": ("Accessories", 29.0, 11.0),
    "Milk jug": ("Accessories", 15.0, 6.0),
}
#: region -> how busy it is relative to the others
REGIONS: dict[str, float] = {"North": 1.0, "South": 1.35, "East": 0.8, "West": 1.1}
#: month (1-12) -> seasonal factor: a spring promotion in March, a quiet summer, a strong December
SEASON = {1: 0.8, 2: 0.85, 3: 1.45, 4: 1.0, 5: 1.0, 6: 0.9, 7: 0.7, 8: 0.65, 9: 0.95, 10: 1.05, 11: 1.2, 12: 1.6}
RETURN_REASONS = ["damaged in transit", "not as described", "changed mind", "faulty"]

ORDER_COLUMNS = ["order_id", "date", "region", "product", "units", "unit_price", "revenue"]


def make_orders(rng: random.Random) -> list[dict[str, Any]]:
    """One row per order line over the year."""
    orders: list[dict[str, Any]] = []
    day = dt.date(YEAR, 1, 1)
    while day.year == YEAR:
        for region, busy in REGIONS.items():
            expected = 1.1 * busy * SEASON[day.month] * (0.6 if day.weekday() >= 5 else 1.0)
            for _ in range(_poisson(rng, expected)):
                product = rng.choices(list(PRODUCTS), weights=[2, 3, 4, 9, 6, 3, 4, 3])[0]
                category, price, _cost = PRODUCTS[product]
                units = rng.randint(1, 3) if category == "Appliances" else rng.randint(1, 8)
                orders.append(
                    {
                        "order_id": f"SO-{len(orders) + 10001}",
                        "date": day.isoformat(),
                        "region": region,
                        "product": product,
                        "units": units,
                        "unit_price": price,
                        "revenue": round(units * price, 2),
                    }
                )
        day += dt.timedelta(days=1)
    return orders


def _poisson(rng: random.Random, mean: float) -> int:
    """Knuth's method: small means only, which is all we need."""
    limit, k, p = pow(2.718281828459045, -mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def make_returns(rng: random.Random, orders: list[dict[str, Any]]) -> list[list[Any]]:
    """Some order lines come back: appliances more often, and mostly because they are faulty or damaged."""
    rows: list[list[Any]] = []
    for order in orders:
        category = PRODUCTS[order["product"]][0]
        if rng.random() < (0.09 if category == "Appliances" else 0.025):
            returned = dt.date.fromisoformat(order["date"]) + dt.timedelta(days=rng.randint(2, 25))
            reason = rng.choices(RETURN_REASONS, weights=[3, 2, 2, 3] if category == "Appliances" else [2, 2, 5, 1])[0]
            units = rng.randint(1, order["units"])
            rows.append([order["order_id"], returned.isoformat(), order["product"], units, reason])
    return rows


def make_targets() -> list[list[Any]]:
    """Monthly revenue targets per region: last year's plan, which some months beat and others miss."""
    rows: list[list[Any]] = []
    for region, busy in REGIONS.items():
        for month in range(1, 13):
            plan = 3300 * busy * (1 + 0.6 * (SEASON[month] - 1))
            rows.append([region, f"{YEAR}-{month:02d}", round(plan, -1)])
    return rows


def tables() -> dict[str, list[list[Any]]]:
    """Every table, as header row + rows: ``orders`` (the CSV) and one per sheet of the workbook."""
    rng = random.Random(SEED)
    orders = make_orders(rng)
    return {
        "orders": [ORDER_COLUMNS, *([o[c] for c in ORDER_COLUMNS] for o in orders)],
        "Products": [
            ["product", "category", "unit_price", "unit_cost"],
            *([name, cat, price, cost] for name, (cat, price, cost) in PRODUCTS.items()),
        ],
        "Targets": [["region", "month", "revenue_target"], *make_targets()],
        "Returns": [["order_id", "returned_on", "product", "units", "reason"], *make_returns(rng, orders)],
    }


def write(out_dir: Path) -> list[Path]:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    out_dir.mkdir(parents=True, exist_ok=True)
    data = tables()
    csv_path = out_dir / "sales.csv"
    with open(csv_path, "w", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows(data.pop("orders"))

    workbook = Workbook()
    workbook.remove(workbook.active)
    for name, rows in data.items():
        sheet = workbook.create_sheet(name)
        for row in rows:
            sheet.append(row)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        sheet.freeze_panes = "A2"
    # Fixed document dates, so a rerun changes nothing but the zip's own timestamps.
    stamp = dt.datetime(YEAR, 12, 31, 12, 0, 0)
    workbook.properties.created = stamp
    workbook.properties.modified = stamp
    workbook.properties.creator = "examples/make_data.py"
    xlsx_path = out_dir / "sales.xlsx"
    workbook.save(xlsx_path)
    return [csv_path, xlsx_path]


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "data"
    for path in write(target):
        print(path)
