"""Generate our eval task set in InfiAgent-DABench's layout, with gold answers computed here.

    python evals/make_tasks.py [OUT]        # default: evals/tasks

Writes ``codeinterp-questions.jsonl`` (``file_name`` a list where a task joins two files),
``codeinterp-labels.jsonl`` and ``codeinterp-tables/`` (CSV and XLSX made from a fixed seed).
Deterministic: running it again gives the same questions, answers and CSV files.
Covers aggregation, filtering, joins, dates, correlation and outliers (docs/eval.md).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

Answers = list[tuple[str, str]]


def make_data(tables: Path) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(14)
    n = 240
    sales = pd.DataFrame(
        {
            "order_id": range(1, n + 1),
            "date": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 365, n), unit="D"),
            "region": rng.choice(["North", "South", "East", "West"], n),
            "product": rng.choice(["widget", "gadget", "gizmo", "doohickey", "sprocket"], n),
            "units": rng.integers(1, 25, n),
            "unit_price": rng.choice([4.5, 9.99, 12.0, 19.95, 24.5], n),
        }
    ).sort_values("date", kind="stable")
    customers = pd.DataFrame(
        {
            "customer_id": [f"C{i:03d}" for i in range(1, 41)],
            "segment": rng.choice(["Consumer", "SMB", "Enterprise"], 40),
            "signup_date": pd.Timestamp("2022-01-01") + pd.to_timedelta(rng.integers(0, 1000, 40), unit="D"),
        }
    )
    orders = pd.DataFrame(
        {
            "order_id": [f"O{i:04d}" for i in range(1, 151)],
            "customer_id": rng.choice(customers["customer_id"], 150),
            "amount": np.round(rng.gamma(2.0, 50.0, 150), 2),
            "date": pd.Timestamp("2024-03-01") + pd.to_timedelta(rng.integers(0, 200, 150), unit="D"),
        }
    )
    temp = rng.normal(21.0, 1.5, 300)
    humidity = 80 - 1.8 * temp + rng.normal(0, 2.0, 300)
    temp[[17, 111, 250]] = [35.0, 4.0, 38.5]  # sensor glitches
    sensors = pd.DataFrame(
        {
            "timestamp": pd.date_range("2024-06-01", periods=300, freq="h"),
            "temp": np.round(temp, 2),
            "humidity": np.round(humidity, 2),
        }
    )
    tables.mkdir(parents=True, exist_ok=True)
    sales.to_csv(tables / "sales.csv", index=False, date_format="%Y-%m-%d")
    orders.to_csv(tables / "orders.csv", index=False, date_format="%Y-%m-%d")
    sensors.to_csv(tables / "sensors.csv", index=False)
    customers.to_excel(tables / "customers.xlsx", index=False)
    # The answers are computed from the files as written (what the model reads), not the frames in memory.
    return {
        "sales": pd.read_csv(tables / "sales.csv", parse_dates=["date"]),
        "orders": pd.read_csv(tables / "orders.csv", parse_dates=["date"]),
        "sensors": pd.read_csv(tables / "sensors.csv", parse_dates=["timestamp"]),
        "customers": pd.read_excel(tables / "customers.xlsx"),
    }


def f(value: float, places: int = 2) -> str:
    return f"{value:.{places}f}"


Spec = tuple[str, str, str, str, str, Callable[[dict[str, pd.DataFrame]], Answers]]


def revenue_by_region(d: dict[str, pd.DataFrame]) -> pd.Series:
    s = d["sales"]
    return (s["units"] * s["unit_price"]).groupby(s["region"]).sum()


def repeat_customers(d: dict[str, pd.DataFrame]) -> pd.Series:
    counts = d["orders"].groupby("customer_id")["amount"].agg(["count", "mean"])
    return counts.loc[counts["count"] >= 3, "mean"]


SPECS: list[Spec] = [
    ("1", "sales.csv", "easy", "What is the mean number of units per order?",
     "Use the units column.", lambda d: [("mean_units", f(d["sales"]["units"].mean()))]),
    ("2", "sales.csv", "easy", "How many distinct products are sold?",
     "Count unique values of the product column.", lambda d: [("products", str(d["sales"]["product"].nunique()))]),
    ("3", "sales.csv", "easy", "How many orders in the North region have more than 10 units?",
     "Filter region == 'North' and units > 10.",
     lambda d: [("count", str(int(((d["sales"]["region"] == "North") & (d["sales"]["units"] > 10)).sum())))]),
    ("4", "sales.csv", "medium", "Which region has the highest revenue, and what is that revenue?",
     "Revenue of an order is units * unit_price; sum it per region.",
     lambda d: [("top_region", str(revenue_by_region(d).idxmax())), ("top_revenue", f(revenue_by_region(d).max()))]),
    ("5", "sales.csv", "medium", "Which month has the most units sold in total?",
     "Group by the calendar month of date; answer as YYYY-MM.",
     lambda d: [("month", str(d["sales"].groupby(d["sales"]["date"].dt.strftime("%Y-%m"))["units"].sum().idxmax()))]),
    ("6", "sales.csv", "medium", "What is the sample standard deviation of unit_price?",
     "Sample standard deviation (ddof=1), over all orders.",
     lambda d: [("std_price", f(d["sales"]["unit_price"].std(ddof=1), 3))]),
    ("7", "orders.csv", "easy", "What is the median order amount?",
     "Use the amount column.", lambda d: [("median_amount", f(d["orders"]["amount"].median()))]),
    ("8", "orders.csv", "easy", "What percentage of orders have an amount above 100?",
     "Strictly above 100; a percentage from 0 to 100.",
     lambda d: [("pct_above_100", f(100 * (d["orders"]["amount"] > 100).mean()))]),
    ("9", "orders.csv", "medium", "How many days are there between the first and the last order?",
     "Last order date minus first order date, in days.",
     lambda d: [("days", str((d["orders"]["date"].max() - d["orders"]["date"].min()).days))]),
    ("10", "orders.csv", "medium", "On which weekday were the most orders placed, and how many?",
     "Weekday names in English (Monday ... Sunday).",
     lambda d: [("weekday", str(d["orders"]["date"].dt.day_name().value_counts().idxmax())),
                ("orders", str(int(d["orders"]["date"].dt.day_name().value_counts().max())))]),
    ("11", "customers.xlsx", "easy", "How many customers signed up in 2023?",
     "Use the year of signup_date.",
     lambda d: [("signups_2023", str(int((pd.to_datetime(d["customers"]["signup_date"]).dt.year == 2023).sum())))]),
    ("12", "orders.csv,customers.xlsx", "hard", "What is the total order amount of Enterprise customers?",
     "Join orders.csv with customers.xlsx on customer_id; keep segment == 'Enterprise'.",
     lambda d: [("enterprise_total", f(d["orders"].merge(d["customers"], on="customer_id")
                                       .query("segment == 'Enterprise'")["amount"].sum()))]),
    ("13", "orders.csv", "hard", "Among customers with at least 3 orders, what is the mean of their mean order "
     "amount, and how many such customers are there?",
     "Per customer: count and mean of amount; keep count >= 3; then the mean of those means.",
     lambda d: [("mean_of_means", f(repeat_customers(d).mean())), ("customers", str(len(repeat_customers(d))))]),
    ("14", "sensors.csv", "medium", "What is the Pearson correlation between temp and humidity?",
     "Pearson r over all rows.", lambda d: [("r", f(d["sensors"]["temp"].corr(d["sensors"]["humidity"])))]),
    ("15", "sensors.csv", "hard", "How many temp readings are outliers by the z-score rule, and what is the mean "
     "temp without them?",
     "An outlier has |z| > 3 with z = (temp - mean) / std (population std, ddof=0).",
     lambda d: outliers(d["sensors"]["temp"])),
]  # fmt: skip


def outliers(temp: pd.Series) -> Answers:
    z = (temp - temp.mean()) / temp.std(ddof=0)
    keep = temp[z.abs() <= 3]
    return [("outliers", str(int((z.abs() > 3).sum()))), ("mean_clean", f(keep.mean()))]


def answer_format(answers: Answers) -> str:
    return " ".join(f"@{name}[{name}]" for name, _ in answers) + " (numbers as in the data, e.g. 2 decimals)"


def main(out: Path) -> None:
    tables = out / "codeinterp-tables"
    data = make_data(tables)
    questions, labels = [], []
    for tid, file_name, level, question, constraints, compute in SPECS:
        answers = compute(data)
        questions.append(
            {
                "id": int(tid),
                "question": question,
                "concepts": [],
                "constraints": constraints,
                "format": answer_format(answers),
                "file_name": file_name.split(",") if "," in file_name else file_name,
                "level": level,
            }
        )
        labels.append({"id": int(tid), "common_answers": [[name, value] for name, value in answers]})
    for name, rows in (("codeinterp-questions.jsonl", questions), ("codeinterp-labels.jsonl", labels)):
        (out / name).write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent / "tasks")
