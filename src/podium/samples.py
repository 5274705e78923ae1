"""Databricks' `samples` catalog on this machine: `samples.nyctaxi.trips` and the TPC-H
tables `samples.tpch.*`, with Databricks' schemas and realistic, deterministic values; and
the files of `/databricks-datasets` that templates read (`retail-org/sales_orders`, JSON).

Tutorials and the `databricks bundle init` templates read these tables. They are made once
per machine (a few seconds, by the first cluster that starts without them) as Delta tables
in the user's cache, and the `samples` catalog registers each where it is first read
(`unity.py`). `trips` has Databricks' 21,932 rows; TPC-H is at a small scale (150
customers, 1,500 orders), not Databricks' scale factor 1.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from podium import defaults
from podium.files import locked

NYC_ZIPS = [10001, 10002, 10003, 10009, 10010, 10011, 10012, 10013, 10014, 10016, 10017,
            10018, 10019, 10021, 10022, 10023, 10024, 10025, 10028, 10036, 10065, 10075,
            10103, 10110, 10119, 10153, 10168, 10199, 10280, 10282, 11101, 11201, 11211,
            11215, 11217, 11222, 11238, 11371, 11430]
WORDS = ["carefully", "final", "deposits", "quickly", "express", "packages", "furiously",
         "regular", "accounts", "ideas", "blithely", "ironic", "requests", "pending",
         "foxes", "slyly", "bold", "instructions", "theodolites", "platelets"]
REGIONS = ["AFRICA", "AMERICA", "ASIA", "EUROPE", "MIDDLE EAST"]
NATIONS = [("ALGERIA", 0), ("ARGENTINA", 1), ("BRAZIL", 1), ("CANADA", 1), ("EGYPT", 4),
           ("ETHIOPIA", 0), ("FRANCE", 3), ("GERMANY", 3), ("INDIA", 2), ("INDONESIA", 2),
           ("IRAN", 4), ("IRAQ", 4), ("JAPAN", 2), ("JORDAN", 4), ("KENYA", 0),
           ("MOROCCO", 0), ("MOZAMBIQUE", 0), ("PERU", 1), ("CHINA", 2), ("ROMANIA", 3),
           ("SAUDI ARABIA", 4), ("VIETNAM", 2), ("RUSSIA", 3), ("UNITED KINGDOM", 3),
           ("UNITED STATES", 1)]
SCALE = {"supplier": 10, "customer": 150, "part": 200, "orders": 1500}
FIRST_NAMES = ["james", "mary", "robert", "patricia", "john", "jennifer", "michael", "linda",
               "david", "elizabeth", "william", "barbara", "richard", "susan", "joseph",
               "jessica", "thomas", "sarah", "charles", "karen"]
LAST_NAMES = ["smith", "johnson", "williams", "brown", "jones", "garcia", "miller", "davis",
              "rodriguez", "martinez", "hernandez", "lopez", "gonzalez", "wilson", "anderson"]
PRODUCTS = [("Sony - 55 4K Ultra HD TV", 1099), ("Apple - AirPods", 159),
            ("Samsung - Galaxy Tab A", 229), ("Bose - SoundLink Color", 129),
            ("Canon - EOS Rebel T6", 449), ("Logitech - Wireless Mouse", 29),
            ("JBL - Flip 4 Speaker", 99), ("Fitbit - Charge 3", 149)]


def location() -> Path:
    """Where the sample tables are: `<cache>/samples/<version>/<schema>/<table>`."""
    return defaults.samples_dir()


def ready() -> bool:
    """Whether the sample tables were made on this machine."""
    return (location() / ".complete").is_file()


def ensure(spark: Any) -> None:
    """Make the sample tables with `spark` unless they exist (one process at a time)."""
    if ready():
        return
    with locked(location().parent):
        if ready():
            return
        building = location().parent / f".building-{defaults.SAMPLES_VERSION}-{os.getpid()}"
        shutil.rmtree(building, ignore_errors=True)
        for (schema, table), frame in tables(spark).items():
            frame.write.format("delta").save(str(building / schema / table))
        for folder, frame in datasets(spark).items():
            frame.write.json(str(building / defaults.datasets_dir().name / folder))
        (building / ".complete").touch()
        shutil.rmtree(location(), ignore_errors=True)
        os.replace(building, location())
        for old in location().parent.glob("v*"):  # an earlier version's data
            if old.name != defaults.SAMPLES_VERSION:
                shutil.rmtree(old, ignore_errors=True)


def _pick(values: list[Any], seed: int) -> str:
    """A SQL expression choosing one of `values` at random (deterministically)."""
    items = ", ".join(repr(v) if isinstance(v, str) else str(v) for v in values)
    return f"element_at(array({items}), 1 + cast(rand({seed}) * {len(values)} AS INT))"


def _comment(seed: int, words: int = 5) -> str:
    return "concat_ws(' ', " + ", ".join(_pick(WORDS, seed * 31 + i)
                                          for i in range(words)) + ")"


def _money(expression: str) -> str:
    return f"CAST(round({expression}, 2) AS DECIMAL(18,2))"


def tables(spark: Any) -> dict[tuple[str, str], Any]:
    """Every sample table as a DataFrame, keyed by (schema, table)."""
    def rows(n: int) -> Any:
        return spark.range(1, n + 1, 1, 1)

    trips = spark.range(0, 21932, 1, 1).selectExpr(
        "timestamp_seconds(1451606400 + CAST(rand(1) * 5184000 AS BIGINT)) AS pickup",
        "3 + pow(rand(2), 2) * 55 AS minutes", "0.12 + rand(3) * 0.25 AS speed",
        f"{_pick(NYC_ZIPS, 4)} AS pickup_zip", f"{_pick(NYC_ZIPS, 5)} AS dropoff_zip",
    ).selectExpr(
        "pickup AS tpep_pickup_datetime",
        "timestamp_seconds(unix_seconds(pickup) + CAST(minutes * 60 AS BIGINT)) "
        "AS tpep_dropoff_datetime",
        "round(minutes * speed, 2) AS trip_distance",
        "round((2.5 + 2.5 * minutes * speed + 0.35 * minutes) * 2) / 2 AS fare_amount",
        "CAST(pickup_zip AS INT) AS pickup_zip", "CAST(dropoff_zip AS INT) AS dropoff_zip")

    region = spark.createDataFrame(
        [(i, name) for i, name in enumerate(REGIONS)], "r_regionkey BIGINT, r_name STRING"
    ).selectExpr("*", f"{_comment(11)} AS r_comment")
    nation = spark.createDataFrame(
        [(i, name, region_key) for i, (name, region_key) in enumerate(NATIONS)],
        "n_nationkey BIGINT, n_name STRING, n_regionkey BIGINT",
    ).selectExpr("*", f"{_comment(12)} AS n_comment")
    phone = ("concat(CAST(10 + {n} AS STRING), '-', lpad(CAST(CAST(rand({s}) * 1000 AS INT) "
             "AS STRING), 3, '0'), '-', lpad(CAST(CAST(rand({t}) * 1000 AS INT) AS STRING), "
             "3, '0'), '-', lpad(CAST(CAST(rand({u}) * 10000 AS INT) AS STRING), 4, '0'))")
    supplier = rows(SCALE["supplier"]).selectExpr(
        "id AS s_suppkey", "concat('Supplier#', lpad(CAST(id AS STRING), 9, '0')) AS s_name",
        "substr(sha2(CAST(id AS STRING), 256), 1, 20) AS s_address",
        "CAST(id % 25 AS BIGINT) AS s_nationkey",
        phone.format(n="id % 25", s=21, t=22, u=23) + " AS s_phone",
        f"{_money('rand(24) * 10999 - 999')} AS s_acctbal", f"{_comment(25)} AS s_comment")
    customer = rows(SCALE["customer"]).selectExpr(
        "id AS c_custkey", "concat('Customer#', lpad(CAST(id AS STRING), 9, '0')) AS c_name",
        "substr(sha2(CAST(id * 7 AS STRING), 256), 1, 24) AS c_address",
        "CAST(pmod(hash(id), 25) AS BIGINT) AS c_nationkey",
        phone.format(n="pmod(hash(id), 25)", s=31, t=32, u=33) + " AS c_phone",
        f"{_money('rand(34) * 10999 - 999')} AS c_acctbal",
        f"{_pick(['AUTOMOBILE', 'BUILDING', 'FURNITURE', 'HOUSEHOLD', 'MACHINERY'], 35)} "
        "AS c_mktsegment", f"{_comment(36)} AS c_comment")
    part = rows(SCALE["part"]).selectExpr(
        "id AS p_partkey",
        f"concat_ws(' ', {_pick(['almond', 'azure', 'blush', 'coral', 'forest', 'ivory'], 41)}"
        f", {_pick(['antique', 'burnished', 'chiffon', 'frosted', 'lace', 'metallic'], 42)})"
        " AS p_name",
        "concat('Manufacturer#', CAST(1 + pmod(hash(id), 5) AS STRING)) AS p_mfgr",
        "concat('Brand#', CAST(1 + pmod(hash(id), 5) AS STRING), "
        "CAST(1 + pmod(hash(id, 1), 5) AS STRING)) AS p_brand",
        f"concat_ws(' ', {_pick(['STANDARD', 'SMALL', 'MEDIUM', 'LARGE', 'ECONOMY'], 43)}, "
        f"{_pick(['ANODIZED', 'BURNISHED', 'PLATED', 'POLISHED', 'BRUSHED'], 44)}, "
        f"{_pick(['TIN', 'NICKEL', 'BRASS', 'STEEL', 'COPPER'], 45)}) AS p_type",
        "CAST(1 + rand(46) * 50 AS INT) AS p_size",
        f"concat_ws(' ', {_pick(['SM', 'LG', 'MED', 'JUMBO', 'WRAP'], 47)}, "
        f"{_pick(['CASE', 'BOX', 'BAG', 'JAR', 'PKG', 'PACK', 'CAN', 'DRUM'], 48)}) "
        "AS p_container",
        f"{_money('900 + (id % 1000) / 10 + 100 * (id % 10)')} AS p_retailprice",
        f"{_comment(49, 3)} AS p_comment")
    partsupp = rows(SCALE["part"]).selectExpr(
        "id AS ps_partkey", "explode(sequence(0, 3)) AS i",
    ).selectExpr(
        "ps_partkey",
        f"CAST(1 + pmod(ps_partkey + i * {SCALE['supplier'] // 4 + 1}, {SCALE['supplier']}) "
        "AS BIGINT) AS ps_suppkey",
        "CAST(1 + rand(51) * 9998 AS INT) AS ps_availqty",
        f"{_money('1 + rand(52) * 999')} AS ps_supplycost", f"{_comment(53)} AS ps_comment")
    orders = rows(SCALE["orders"]).selectExpr(
        "id * 4 - 3 AS o_orderkey",
        f"CAST(1 + pmod(hash(id), {SCALE['customer']}) AS BIGINT) AS o_custkey",
        "date_add(DATE'1992-01-01', CAST(rand(61) * 2405 AS INT)) AS o_orderdate",
        f"{_pick(['1-URGENT', '2-HIGH', '3-MEDIUM', '4-NOT SPECIFIED', '5-LOW'], 62)} "
        "AS o_orderpriority",
        "concat('Clerk#', lpad(CAST(1 + CAST(rand(63) * 1000 AS INT) AS STRING), 9, '0')) "
        "AS o_clerk", "0 AS o_shippriority", f"{_comment(64)} AS o_comment",
        "CAST(1 + rand(65) * 7 AS INT) AS lines")
    lineitem = orders.selectExpr(
        "o_orderkey AS l_orderkey", "o_orderdate", "explode(sequence(1, lines)) AS l_linenumber",
    ).selectExpr(
        "l_orderkey", "o_orderdate",
        f"CAST(1 + pmod(hash(l_orderkey, l_linenumber), {SCALE['part']}) AS BIGINT) "
        "AS l_partkey",
        f"CAST(1 + pmod(hash(l_linenumber, l_orderkey), {SCALE['supplier']}) AS BIGINT) "
        "AS l_suppkey", "l_linenumber",
        "CAST(1 + CAST(rand(71) * 50 AS INT) AS DECIMAL(18,2)) AS l_quantity",
        "CAST(round(rand(72) * 10) / 100 AS DECIMAL(18,2)) AS l_discount",
        "CAST(round(rand(73) * 8) / 100 AS DECIMAL(18,2)) AS l_tax",
        "date_add(o_orderdate, CAST(1 + rand(74) * 120 AS INT)) AS l_shipdate",
        "date_add(o_orderdate, CAST(30 + rand(75) * 60 AS INT)) AS l_commitdate",
    ).selectExpr(
        "l_orderkey", "l_partkey", "l_suppkey", "l_linenumber", "l_quantity",
        f"{_money('l_quantity * (900 + (l_partkey % 1000) / 10 + 100 * (l_partkey % 10))')} "
        "AS l_extendedprice", "l_discount", "l_tax",
        "CASE WHEN l_shipdate <= DATE'1995-06-17' THEN "
        f"{_pick(['R', 'A'], 76)} ELSE 'N' END AS l_returnflag",
        "CASE WHEN l_shipdate > DATE'1995-06-17' THEN 'O' ELSE 'F' END AS l_linestatus",
        "l_shipdate", "l_commitdate",
        "date_add(l_shipdate, CAST(1 + rand(77) * 30 AS INT)) AS l_receiptdate",
        f"{_pick(['DELIVER IN PERSON', 'COLLECT COD', 'NONE', 'TAKE BACK RETURN'], 78)} "
        "AS l_shipinstruct",
        f"{_pick(['REG AIR', 'AIR', 'RAIL', 'SHIP', 'TRUCK', 'MAIL', 'FOB'], 79)} "
        "AS l_shipmode", f"{_comment(80, 3)} AS l_comment")
    totals = lineitem.groupBy("l_orderkey").agg(
        {"l_extendedprice": "sum", "l_linestatus": "max"})
    orders = orders.join(totals, orders.o_orderkey == totals.l_orderkey).selectExpr(
        "o_orderkey", "o_custkey",
        "CASE `max(l_linestatus)` WHEN 'F' THEN 'F' ELSE 'O' END AS o_orderstatus",
        "CAST(`sum(l_extendedprice)` AS DECIMAL(18,2)) AS o_totalprice",
        "o_orderdate", "o_orderpriority", "o_clerk", "o_shippriority", "o_comment")
    return {("nyctaxi", "trips"): trips, ("tpch", "region"): region,
            ("tpch", "nation"): nation, ("tpch", "supplier"): supplier,
            ("tpch", "customer"): customer, ("tpch", "part"): part,
            ("tpch", "partsupp"): partsupp, ("tpch", "orders"): orders,
            ("tpch", "lineitem"): lineitem}


def datasets(spark: Any) -> dict[str, Any]:
    """The `/databricks-datasets` folders, keyed by path: `retail-org/sales_orders` has
    4,000 orders from July to October 2019, in four JSON files, with Databricks' fields."""
    names = [f"{first} {last}" for last in LAST_NAMES for first in FIRST_NAMES]
    products = ", ".join(f"named_struct('curr', 'USD', 'id', sha2('{name}', 224), 'name', "
                         f"'{name}', 'price', {price}, 'qty', 1 + CAST(rand({i}) * 3 AS INT), "
                         "'unit', 'pcs')" for i, (name, price) in enumerate(PRODUCTS, 90))
    orders = spark.range(0, 4000, 1, 4).selectExpr(
        "id", "CAST(rand(81) * 150 AS INT) AS customer",
        "1561939200 + CAST(rand(82) * 10627200 AS BIGINT) AS at",
        f"slice(shuffle(array({products}), 83), 1, 1 + CAST(rand(84) * 3 AS INT)) AS items",
    ).selectExpr(
        "CAST(customer AS STRING) AS customer_id",
        f"element_at(array({', '.join(repr(n) for n in names)}), 1 + customer) "
        "AS customer_name",
        "CAST(size(items) AS STRING) AS number_of_line_items",
        "CAST(at AS STRING) AS order_datetime", "id + 1 AS order_number",
        "items AS ordered_products")
    return {"retail-org/sales_orders": orders}
