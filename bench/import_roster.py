"""Benchmark the roster import: 1,000,000 rows through `manage.py import_alumni` into PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/alumni_bench_import \\
        .venv/bin/python bench/import_roster.py [--rows 1000000] [--slice 10000] [--skip-generate]

Steps (each printed with its figures, then a Markdown summary):
1. generate a CSV of ``--rows`` rows (person + enrolment + mobile + email + employer per row; Chinese
   names from a pool of about 28,000 names, so about 35 people share each name; 20 colleges);
2. recreate the database (DROP/CREATE), migrate, create the 20 colleges;
3. ``import_alumni PATH --json`` in a child process under /usr/bin/time -v: wall time, rows/s, peak RSS;
4. the same command again (every row unchanged): wall time, peak RSS;
5. django-import-export's own import path on the first ``--slice`` rows of the same file, into a
   fresh flat table with a plain ModelResource (import_id_fields = student_id), default and
   ``use_bulk=True`` modes, extrapolated linearly to ``--rows`` (stated as such);
6. the raw COPY anchor: the whole file's bytes COPYed into one flat table with the 9 indexes of
   PERFORMANCE.md's anchor (the machine's physical limit for one indexed table).

The machine is shared: run it when nothing else is running, or note the load average it prints.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from random import Random

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/alumni_bench_import"
DEV_FIELD_KEY = "ZGV2LW9ubHktZmllbGQta2V5LWNoYW5nZS1tZS0wMDA="

HEADERS = [
    "学号", "姓名", "性别", "出生日期", "学院", "专业", "班级", "学历", "入学年份", "毕业年份",
    "手机", "邮箱", "工作单位", "职务", "所在城市", "籍贯",
]  # fmt: skip
COLLEGES = [
    ("C01", "计算机学院", ("计算机科学与技术", "软件工程", "人工智能")),
    ("C02", "机械工程学院", ("机械设计制造及其自动化", "车辆工程", "工业设计")),
    ("C03", "材料学院", ("材料科学与工程", "高分子材料与工程")),
    ("C04", "电子信息工程学院", ("电子信息工程", "通信工程", "微电子")),
    ("C05", "航空学院", ("飞行器设计与工程", "飞行器动力工程")),
    ("C06", "航天学院", ("探测制导与控制技术", "空间科学与技术")),
    ("C07", "自动化学院", ("自动化", "测控技术与仪器")),
    ("C08", "能源与动力学院", ("能源与动力工程", "新能源科学与工程")),
    ("C09", "土木工程学院", ("土木工程", "建筑环境与能源应用工程")),
    ("C10", "化学化工学院", ("化学工程与工艺", "应用化学")),
    ("C11", "数学学院", ("数学与应用数学", "信息与计算科学", "统计学")),
    ("C12", "物理学院", ("应用物理学", "光电信息科学与工程")),
    ("C13", "经济管理学院", ("工商管理", "会计学", "金融学")),
    ("C14", "外国语学院", ("英语", "日语", "翻译")),
    ("C15", "人文学院", ("汉语言文学", "法学")),
    ("C16", "生命科学学院", ("生物技术", "生物医学工程")),
    ("C17", "环境学院", ("环境工程", "环境科学")),
    ("C18", "交通学院", ("交通运输", "物流工程")),
    ("C19", "建筑学院", ("建筑学", "城乡规划")),
    ("C20", "马克思主义学院", ("思想政治教育",)),
]
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
    "姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华建国志红玉梅文斌宇浩然子涵欣怡晨阳思远雨桐博嘉鑫鹏飞婷"
EMPLOYERS = (
    "中国航天科技集团", "华为技术有限公司", "国家电网有限公司", "中国科学院计算技术研究所", "腾讯科技（深圳）有限公司",
    "中国商用飞机有限责任公司", "北京大学", "中国移动通信集团", "阿里巴巴集团", "比亚迪股份有限公司",
    "中国航空工业集团", "中国电子科技集团", "百度在线网络技术有限公司", "字节跳动", "中国建筑集团",
    "中国石油天然气集团", "招商银行", "宁德时代新能源科技股份有限公司", "小米科技有限责任公司", "清华大学",
)  # fmt: skip
TITLES = ("工程师", "高级工程师", "研究员", "副教授", "项目经理", "总经理", "部门主管", "技术总监", "教授", "主任")
CITIES = ("北京", "上海", "深圳", "西安", "成都", "武汉", "杭州", "南京", "广州", "沈阳", "哈尔滨", "长沙")
HOMETOWNS = (
    "河北石家庄",
    "山东济南",
    "河南郑州",
    "湖南长沙",
    "四川成都",
    "浙江温州",
    "江苏苏州",
    "陕西西安",
    "湖北武汉",
)
DEGREES = (("本科", 4), ("硕士", 3), ("博士", 4), ("专科", 3))
DEGREE_WEIGHTS = (70, 20, 5, 5)
MAIL_DOMAINS = ("163.com", "qq.com", "126.com", "alumni.example.edu.cn", "gmail.com", "sina.com")


def name_pool(size: int, seed: int) -> list[str]:
    rng = Random(seed)
    names: set[str] = set()
    while len(names) < size:
        given = "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2, 2))))
        names.add(rng.choice(SURNAMES) + given)
    return sorted(names)


def generate(path: Path, rows: int, seed: int = 1) -> None:
    """Write ``rows`` roster rows as UTF-8 CSV (with BOM, as Excel saves it), streaming."""
    rng = Random(seed)
    pool = name_pool(28_000, seed)
    epoch = date(1900, 1, 1)
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow(HEADERS)
        batch = []
        for index in range(rows):
            college_no = index % len(COLLEGES)
            _code, college, majors = COLLEGES[college_no]
            degree, years = rng.choices(DEGREES, weights=DEGREE_WEIGHTS)[0]
            enrolled = rng.randint(1978, 2022)
            major = majors[index % len(majors)]
            birth = epoch + timedelta(
                days=(date(enrolled - rng.randint(17, 24), 1, 1) - epoch).days + rng.randint(0, 364)
            )
            batch.append(
                (
                    f"{enrolled}{college_no + 1:02d}{index:07d}",
                    rng.choice(pool),
                    "男" if rng.random() < 0.55 else "女",
                    birth.isoformat(),
                    college,
                    major,
                    f"{major[:2]}{enrolled}级{rng.randint(1, 6)}班",
                    degree,
                    enrolled,
                    enrolled + years,
                    f"1{rng.choice('35789')}{rng.randint(0, 999_999_999):09d}",
                    f"u{index}x{rng.randint(10, 99)}@{rng.choice(MAIL_DOMAINS)}",
                    rng.choice(EMPLOYERS),
                    rng.choice(TITLES),
                    rng.choice(CITIES),
                    rng.choice(HOMETOWNS),
                )
            )
            if len(batch) == 10_000:
                writer.writerows(batch)
                batch.clear()
        writer.writerows(batch)


# --- the database ---------------------------------------------------------------------------------
def bench_env(url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": url,
        "DJANGO_DEBUG": "1",
        "DJANGO_SETTINGS_MODULE": "alumni_portal.settings",
        "FIELD_ENCRYPTION_KEYS": os.environ.get("FIELD_ENCRYPTION_KEYS", DEV_FIELD_KEY),
        "DJANGO_LOG_LEVEL": "ERROR",
        "REDIS_URL": "",
    }


def recreate_database(url: str) -> None:
    import psycopg2

    base, name = url.rsplit("/", 1)
    admin = psycopg2.connect(base + "/postgres")
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", [name])
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
        cursor.execute(f'CREATE DATABASE "{name}"')
    admin.close()


def manage(url: str, *args: str, timed: bool = False) -> tuple[float, int | None, str, str]:
    """Run manage.py in a child process; (seconds, peak RSS in kB or None, stdout, stderr)."""
    command = [str(ROOT / ".venv" / "bin" / "python"), "manage.py", *args]
    if timed:
        command = ["/usr/bin/time", "-v", *command]
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, env=bench_env(url), capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode not in (0, 1):
        sys.exit(f"manage.py {' '.join(args)} failed ({done.returncode}):\n{done.stderr[-4000:]}")
    rss = None
    if timed:
        found = re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)
        rss = int(found.group(1)) if found else None
    return seconds, rss, done.stdout, done.stderr


def setup_colleges(url: str) -> None:
    code = "from apps.alumni.models import College\n" + "".join(
        f"College.objects.get_or_create(code={c!r}, defaults={{'name': {n!r}}})\n" for c, n, _m in COLLEGES
    )
    manage(url, "shell", "-c", code)


def table_counts(url: str) -> dict[str, int]:
    import psycopg2

    connection = psycopg2.connect(url)
    counts = {}
    with connection.cursor() as cursor:
        for table in ("alumni_person", "alumni_enrollment", "alumni_contactchannel", "alumni_employment"):
            cursor.execute(f"SELECT count(*) FROM {table}")
            counts[table] = cursor.fetchone()[0]
    connection.close()
    return counts


def job_phases(url: str) -> dict[str, float]:
    """The latest import job's own phase timings (seconds), as the pipeline recorded them."""
    import psycopg2

    connection = psycopg2.connect(url)
    with connection.cursor() as cursor:
        cursor.execute("SELECT result->'timings' FROM imports_importjob ORDER BY id DESC LIMIT 1")
        timings = cursor.fetchone()[0] or {}
    connection.close()
    return {k.removeprefix("phase: "): v for k, v in timings.items() if k.startswith("phase: ")}


# --- django-import-export ---------------------------------------------------------------------------
IE_SCRIPT = r"""
import csv, json, sys, time
from itertools import islice
from django.db import connection, models
from import_export import resources
import tablib

class BenchRoster(models.Model):
    student_id = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=100, db_index=True)
    gender = models.CharField(max_length=4, blank=True)
    birth_date = models.DateField(null=True, blank=True)
    college = models.CharField(max_length=100, db_index=True)
    major = models.CharField(max_length=100, blank=True)
    school_class = models.CharField(max_length=100, blank=True)
    degree_level = models.CharField(max_length=16, blank=True)
    enrollment_year = models.PositiveSmallIntegerField(null=True, blank=True)
    graduation_year = models.PositiveSmallIntegerField(null=True, blank=True, db_index=True)
    mobile = models.CharField(max_length=32, blank=True)
    email = models.CharField(max_length=254, blank=True)
    organisation = models.CharField(max_length=200, blank=True)
    title = models.CharField(max_length=100, blank=True)
    city = models.CharField(max_length=64, blank=True)
    class Meta:
        app_label = "imports"
        db_table = "bench_roster_ie"

FIELDS = ["student_id", "name", "gender", "birth_date", "college", "major", "school_class", "degree_level",
          "enrollment_year", "graduation_year", "mobile", "email", "organisation", "title", "city"]

class Default(resources.ModelResource):
    class Meta:
        model = BenchRoster
        import_id_fields = ("student_id",)
        fields = FIELDS

class Bulk(Default):
    class Meta(Default.Meta):
        use_bulk = True
        batch_size = 1000
        skip_diff = True
        skip_html_diff = True

path, rows = sys.argv[1], int(sys.argv[2])
with open(path, encoding="utf-8-sig", newline="") as handle:
    reader = csv.reader(handle)
    next(reader)
    data = [r[:15] for r in islice(reader, rows)]
results = {}
for label, resource in (("default", Default), ("bulk", Bulk)):
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_roster_ie")
    with connection.schema_editor() as editor:
        editor.create_model(BenchRoster)
    started = time.perf_counter()
    dataset = tablib.Dataset(*data, headers=FIELDS)
    result = resource().import_data(dataset, dry_run=False, raise_errors=True)
    results[label] = time.perf_counter() - started
    assert BenchRoster.objects.count() == rows, BenchRoster.objects.count()
with connection.cursor() as cursor:
    cursor.execute("DROP TABLE IF EXISTS bench_roster_ie")
print(json.dumps(results))
"""


def import_export_bench(url: str, path: Path, rows: int) -> dict[str, float]:
    _seconds, _rss, out, err = manage(url, "shell", "-c", IE_SCRIPT.replace("sys.argv[1]", repr(str(path))).replace(
        "int(sys.argv[2])", str(rows)))  # fmt: skip
    try:
        return json.loads(out.strip().splitlines()[-1])
    except (ValueError, IndexError):
        sys.exit(f"import-export bench failed:\n{err[-4000:]}")


# --- the raw COPY anchor ------------------------------------------------------------------------------
# The physical-limit anchor of PERFORMANCE.md: the file's raw bytes COPYed into one flat table with
# that anchor's 9 indexes (primary key, unique student ID, name, college, graduation year, the three
# varchar_pattern_ops twins Django adds to indexed CharFields, a trigram GIN index on the name), so
# that our import's rows/s can be read against the same machine's COPY.
COPY_TABLE = """
CREATE EXTENSION IF NOT EXISTS pg_trgm;
DROP TABLE IF EXISTS bench_roster_copy;
CREATE TABLE bench_roster_copy (
    id bigserial PRIMARY KEY, student_id varchar(32) NOT NULL UNIQUE, name varchar(100) NOT NULL,
    gender varchar(4), birth_date date, college varchar(100) NOT NULL, major varchar(100),
    school_class varchar(100), degree_level varchar(16), enrollment_year smallint, graduation_year smallint,
    mobile varchar(32), email varchar(254), organisation varchar(200), title varchar(100), city varchar(64),
    hometown varchar(64));
CREATE INDEX bench_copy_student_like ON bench_roster_copy (student_id varchar_pattern_ops);
CREATE INDEX bench_copy_name ON bench_roster_copy (name);
CREATE INDEX bench_copy_name_like ON bench_roster_copy (name varchar_pattern_ops);
CREATE INDEX bench_copy_college ON bench_roster_copy (college);
CREATE INDEX bench_copy_college_like ON bench_roster_copy (college varchar_pattern_ops);
CREATE INDEX bench_copy_year ON bench_roster_copy (graduation_year);
CREATE INDEX bench_copy_name_trgm ON bench_roster_copy USING gin (name gin_trgm_ops);
"""
COPY_COLUMNS = (
    "student_id, name, gender, birth_date, college, major, school_class, degree_level, enrollment_year,"
    " graduation_year, mobile, email, organisation, title, city, hometown"
)


def copy_anchor(url: str, path: Path) -> float:
    """Seconds to COPY the whole file (raw bytes, 1 MiB reads, one transaction) into the anchor table."""
    import psycopg2

    connection = psycopg2.connect(url)
    try:
        with connection.cursor() as cursor:
            cursor.execute(COPY_TABLE)
        connection.commit()
        started = time.perf_counter()
        with connection.cursor() as cursor, path.open("rb") as handle:
            cursor.copy_expert(
                f"COPY bench_roster_copy ({COPY_COLUMNS}) FROM STDIN WITH (FORMAT csv, HEADER true)", handle, 1 << 20
            )
        connection.commit()
        seconds = time.perf_counter() - started
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE bench_roster_copy")
        connection.commit()
        return seconds
    finally:
        connection.close()


def load_average() -> str:
    return " / ".join(f"{v:.2f}" for v in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--slice", type=int, default=10_000, help="rows for the django-import-export comparison")
    parser.add_argument("--file", default=str(ROOT / "var" / "bench" / "roster_1m.csv"))
    parser.add_argument("--skip-generate", action="store_true", help="reuse --file if it exists")
    parser.add_argument("--skip-import-export", action="store_true")
    parser.add_argument("--skip-copy-anchor", action="store_true")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", DEFAULT_URL)
    path = Path(args.file)
    path.parent.mkdir(parents=True, exist_ok=True)
    figures: dict[str, object] = {"rows": args.rows, "load_before": load_average()}

    if not (args.skip_generate and path.exists()):
        started = time.perf_counter()
        generate(path, args.rows)
        print(f"generated {args.rows:,} rows in {time.perf_counter() - started:.1f} s -> {path}", flush=True)
    figures["file_mb"] = round(path.stat().st_size / 1e6, 1)

    recreate_database(url)
    manage(url, "migrate", "--noinput", "-v", "0")
    setup_colleges(url)
    print(f"database ready, load average {load_average()}", flush=True)

    seconds, rss, out, _err = manage(url, "import_alumni", str(path), "--json", timed=True)
    result = json.loads(out)
    figures["first"] = {
        "seconds": round(seconds, 1),
        "rows_per_s": round(args.rows / seconds),
        "peak_rss_mb": round(rss / 1024) if rss else None,
        "counts": {k: (len(v) if k == "errors" else v) for k, v in result.items()},
        "tables": table_counts(url),
        "phases": job_phases(url),
        "load_after": load_average(),
    }
    print("first load:", json.dumps(figures["first"], ensure_ascii=False), flush=True)

    seconds, rss, out, _err = manage(url, "import_alumni", str(path), "--json", timed=True)
    result = json.loads(out)
    figures["again"] = {
        "seconds": round(seconds, 1),
        "rows_per_s": round(args.rows / seconds),
        "peak_rss_mb": round(rss / 1024) if rss else None,
        "counts": {k: (len(v) if k == "errors" else v) for k, v in result.items()},
        "phases": job_phases(url),
        "load_after": load_average(),
    }
    print("re-import:", json.dumps(figures["again"], ensure_ascii=False), flush=True)

    if not args.skip_import_export:
        ie = import_export_bench(url, path, args.slice)
        figures["import_export"] = {
            label: {
                "seconds": round(value, 1),
                "rows_per_s": round(args.slice / value),
                "extrapolated_minutes": round(args.rows / (args.slice / value) / 60, 1),
            }
            for label, value in ie.items()
        }
        print("django-import-export:", json.dumps(figures["import_export"]), flush=True)
    if not args.skip_copy_anchor:
        seconds = copy_anchor(url, path)
        figures["copy_anchor"] = {"seconds": round(seconds, 1), "rows_per_s": round(args.rows / seconds)}
        print("raw COPY anchor:", json.dumps(figures["copy_anchor"]), flush=True)
    print(json.dumps(figures, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
