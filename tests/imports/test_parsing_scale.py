"""20,000-row rosters stream in bounded memory with the right row numbers; throughput is printed
(run with -s to see it), not asserted: the shared build machine varies by +-30%."""

import json
import os
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import pytest

from apps.imports.parsing import open_roster
from tests.imports.filemakers import sample_rows, write_roster_csv, write_xlsx_fast

ROWS = 20_000
PEAK_LIMIT_MB = 50

# Streams a roster in a fresh interpreter and reports how far its RSS rose above where it started:
# tracemalloc would slow the XLSX path (millions of small XML allocations) several times over. On
# Linux the high-water mark is reset first (/proc/self/clear_refs), so start-up does not mask it.
_MEASURE = """
import json, re, resource, sys, time
import django
django.setup()
from apps.imports.parsing import open_roster

def status_kb(field):
    with open("/proc/self/status") as status:
        return int(re.search(field + r":\\s+(\\d+)", status.read()).group(1))

try:
    before = status_kb("VmRSS")
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")
    peak = lambda: status_kb("VmHWM")
except OSError:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    peak = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
wall, cpu = time.perf_counter(), time.process_time()
roster = open_roster(sys.argv[1])
count = errors = 0
first = last = None
for parsed in roster.rows():
    count += 1
    errors += bool(parsed.errors)
    first = first or parsed.row
    last = parsed.row
result = {
    "count": count, "errors": errors, "first": first, "last": last, "estimate": roster.row_count_estimate,
    "wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu,
    "rss_growth_mb": (peak() - before) / 1024,
}
sys.stdout.write(json.dumps(result))
"""


@pytest.fixture(scope="module")
def big_rows():
    return sample_rows(ROWS, seed=2026, native=True)


@pytest.fixture(scope="module")
def big_csv(tmp_path_factory, big_rows):
    return write_roster_csv(tmp_path_factory.mktemp("big") / "roster.csv", big_rows)


@pytest.fixture(scope="module")
def big_xlsx(tmp_path_factory, big_rows):
    return write_xlsx_fast(tmp_path_factory.mktemp("big") / "roster.xlsx", big_rows)


def _report(capsys, kind, count, wall, cpu, memory):
    with capsys.disabled():
        sys.stdout.write(
            f"\n{kind}: {count} rows in {wall:.2f}s wall ({count / wall:,.0f} rows/s), {cpu:.2f}s CPU "
            f"({count / cpu:,.0f} rows/s, {cpu / count * 1e6:.1f} µs/row); {memory}\n"
        )


def test_large_csv_streams_in_bounded_memory(big_csv, capsys):
    tracemalloc.start()
    roster = open_roster(big_csv)
    rows = [0, 0, None, None]  # count, errors, first, last
    for parsed in roster.rows():
        rows[0] += 1
        rows[1] += bool(parsed.errors)
        rows[2] = rows[2] or parsed.row
        rows[3] = parsed.row
    peak_mb = tracemalloc.get_traced_memory()[1] / 1024 / 1024
    tracemalloc.stop()

    assert rows == [ROWS, 0, 2, ROWS + 1]
    assert roster.row_count_estimate == ROWS
    assert peak_mb < PEAK_LIMIT_MB

    wall, cpu = time.perf_counter(), time.process_time()
    count = sum(1 for _ in open_roster(big_csv).rows())
    _report(capsys, "csv", count, time.perf_counter() - wall, time.process_time() - cpu, f"peak {peak_mb:.1f} MB")


def test_large_xlsx_streams_in_bounded_memory(big_xlsx, capsys):
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "alumni_portal.settings_test", "PYTHONPATH": str(root)}
    completed = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(big_xlsx)], cwd=root, env=env, capture_output=True, text=True, check=True
    )
    result = json.loads(completed.stdout)

    assert (result["count"], result["errors"], result["first"], result["last"]) == (ROWS, 0, 2, ROWS + 1)
    assert result["estimate"] == ROWS
    assert result["rss_growth_mb"] < PEAK_LIMIT_MB
    memory = f"peak RSS growth {result['rss_growth_mb']:.1f} MB"
    _report(capsys, "xlsx", result["count"], result["wall"], result["cpu"], memory)
