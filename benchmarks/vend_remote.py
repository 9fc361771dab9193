"""A2. Vend served from the shared cache, and a cold vend, against moto's server and the Amazon simulator
(0 ms and 100 ms of injected LWA latency): the vend's wall time, the raw round trips it makes timed
alone with the same boto3 clients and HTTP session, and the broker's own overhead = vend - Σ raw.

Shared-cache sample: a fresh Vendor (empty memory: a new container) vends a grant whose token is in the
DynamoDB cache. Cold sample: a fresh Vendor vends a grant never vended before (nothing cached anywhere).
The botocore calls each vend makes are recorded (before-call hook) and checked against the raw set timed.
Vend samples and raw round-trip samples alternate, so that drift hits both alike.
"""

from __future__ import annotations

from benchmarks import child
from benchmarks.report import Row, Section
from benchmarks.stats import ms, p50, p99
from benchmarks.world import World

NAME = "vend_remote"
TITLE = "A2. Vend from the shared cache and cold, against moto and the simulator"
AIM_OVERHEAD = 5e-3
WARMUP = 3  # samples of each kind run first and dropped (first connections, first calls of each operation)
SHARED_CALLS = ["GetItem"]
COLD_CALLS = ["GetItem", "PutItem", "GetItem", "DescribeSecret", "GetSecretValue", "PutItem", "DeleteItem"]
# The raw sample timed for each call of a vend, in order; "lwa" is the LWA POST (no botocore call).
SHARED_RAW = ["get_hit"]
COLD_RAW = ["get_miss", "lease_put", "get_miss", "describe", "get_value", "lwa", "token_put", "lease_delete"]


def run(*, quick: bool = False) -> Section:
    plans = [(0, 20, 10), (100, 10, 5)] if quick else [(0, 300, 100), (100, 100, 30)]
    rows: list[Row] = []
    notes: list[str] = []
    with World() as world:
        for latency, shared_n, cold_n in plans:
            world.set_lwa_latency(latency)
            grants = world.create_grants(1 + WARMUP + cold_n)
            before = world.lwa_refreshes()
            got = child.run_one(_measure, world.env, grants[0][0], grants[1:], shared_n, timeout=900)
            lwa_calls = world.lwa_refreshes() - before
            rows += _rows(latency, got, lwa_calls, cold_n)
            if got["shared_calls"] != [SHARED_CALLS] or got["cold_calls"] != [COLD_CALLS]:
                notes.append(
                    f"unexpected AWS call sequences at {latency} ms: {got['shared_calls']} {got['cold_calls']}"
                )
    notes += [
        "Calls per shared-cache vend: DynamoDB GetItem (consistent read). Calls per cold vend: GetItem (miss), "
        "PutItem (lease, conditional), GetItem (re-check under the lease), Secrets Manager DescribeSecret + "
        "GetSecretValue, LWA POST, PutItem (token), DeleteItem (lease, conditional) — recorded with a botocore "
        "before-call hook on every sample, and the raw set is exactly these calls.",
        "Raw round trips: the same calls alone, in the same order, with the broker's own clients "
        "(`sellertoken.aws.client`, `httpclient.session`) and arguments, on fresh keys, right after each vend "
        "sample; each sample's calls are summed, and overhead = p50 of the vends - p50 of those sums "
        "(the sum of each call's p50, shown per call, runs lower because the calls' tails are skewed).",
        "Cross-check: per vend sample, the time outside its AWS calls (botocore before-call → after-call hooks) "
        "and its LWA POST; an upper bound of the broker's own time, since botocore's parameter validation and "
        "request serialization happen before before-call and count as outside (the raw calls pay them too).",
        "The app credentials (Powertools parameters cache, 5 min) are warm in every sample: a new Lambda "
        "container would add one GetSecretValue on its first vend.",
    ]
    return Section(NAME, TITLE, rows, notes)


def _rows(latency: int, got: dict, lwa_calls: int, cold_n: int) -> list[Row]:
    raw = {k: p50(v) for k, v in got["raw"].items()}
    rows = []
    for kind, sequence in (("shared", SHARED_RAW), ("cold", COLD_RAW)):
        vends, totals = got[kind], got[f"{kind}_raw"]
        overhead = p50(vends) - p50(totals)
        parts = " + ".join(
            f"{k} {ms(raw[k])}" + (" x2" if sequence.count(k) == 2 else "") for k in dict.fromkeys(sequence)
        )
        label = "shared-cache" if kind == "shared" else "cold"
        rows.append(
            Row(
                f"{label} vend, LWA +{latency} ms: wall time",
                f"p50 {ms(p50(vends))}, p99 {ms(p99(vends))} (n={len(vends)})",
            )
        )
        rows.append(
            Row(
                f"{label} vend, LWA +{latency} ms: raw round trips of the same calls, summed per sample ({parts})",
                f"p50 {ms(p50(totals))}, p99 {ms(p99(totals))}",
            )
        )
        rows.append(
            Row(
                f"{label} vend, LWA +{latency} ms: broker overhead = vend p50 - raw-sum p50",
                ms(overhead),
                "≤ 5 ms at p50",
                overhead <= AIM_OVERHEAD,
            )
        )
        outside = got[f"{kind}_outside"]
        rows.append(
            Row(
                f"{label} vend, LWA +{latency} ms: cross-check, time outside its AWS calls and LWA POST (upper bound)",
                f"p50 {ms(p50(outside))}, p99 {ms(p99(outside))}",
            )
        )
    expected = 1 + 2 * (WARMUP + cold_n)
    rows.append(
        Row(
            f"LWA refresh calls at +{latency} ms (1 to fill the shared cache, 1 per cold vend and 1 per raw POST, "
            "warm-ups included; none per shared-cache vend)",
            f"{lwa_calls}",
            f"{expected}",
            lwa_calls == expected,
        )
    )
    return rows


def _measure(shared_seller: str, cold: list[tuple[str, str]], shared_n: int) -> dict:
    import time
    import uuid

    from benchmarks.stats import timed
    from sellertoken import appcreds, aws, httpclient, names
    from sellertoken.config import get_config
    from sellertoken.observability import metrics
    from sellertoken.table import lease_key, token_key
    from sellertoken.tokencache import SHARED_CACHE_BOTO_CONFIG, access_key
    from sellertoken.vending import Vendor, parse_request

    config = get_config()
    ddb = aws.client("dynamodb", SHARED_CACHE_BOTO_CONFIG)
    sm = aws.client("secretsmanager")
    creds = appcreds.load(config.prefix)
    calls: list[str] = []
    inside = [0.0]  # seconds spent inside AWS calls and the LWA POST during the current vend
    started: list[float] = []

    def before(model, **_) -> None:
        calls.append(model.name)
        started.append(time.perf_counter())

    def after(**_) -> None:
        inside[0] += time.perf_counter() - started.pop()

    for client in (ddb, sm):
        client.meta.events.register("before-call.*.*", before)
        client.meta.events.register("after-call.*.*", after)
    session = httpclient.session(retry_reads=True)
    plain_post = session.post

    def post(*args, **kwargs):
        begun = time.perf_counter()
        try:
            return plain_post(*args, **kwargs)
        finally:
            inside[0] += time.perf_counter() - begun

    session.post = post  # this process's session only: times the LWA round trip inside a vend

    table, pk, ttl = config.table_name, names.TABLE_PARTITION_KEY, names.TABLE_TTL_ATTRIBUTE
    shared_request = parse_request({"selling_partner_id": shared_seller, "region": "na"})
    Vendor(config).vend(shared_request)  # fills the shared cache
    hit_key = token_key(access_key(creds.client_id, "na", shared_seller))
    if "Item" not in ddb.get_item(TableName=table, Key={pk: {"S": hit_key}}, ConsistentRead=True):
        raise RuntimeError("no token item where table.token_key says: the raw GetItem would miss")

    raw: dict[str, list[float]] = {k: [] for k in dict.fromkeys(SHARED_RAW + COLD_RAW)}
    sequences: dict[str, set[tuple[str, ...]]] = {"shared_calls": set(), "cold_calls": set()}
    out: dict = {k: [] for k in ("shared", "cold", "shared_raw", "cold_raw", "shared_outside", "cold_outside")}

    def vend(request, kind: str, keep: bool) -> None:
        vendor = Vendor(config)
        calls.clear()
        inside[0] = 0.0
        [seconds] = timed(lambda: vendor.vend(request), 1)
        metrics.metric_set.clear()
        if keep:
            out[kind].append(seconds)
            out[f"{kind}_outside"].append(seconds - inside[0])
            sequences[f"{kind}_calls"].add(tuple(calls))

    def once(name: str, call, keep: bool) -> float:
        [seconds] = timed(call, 1)
        if keep:
            raw[name].append(seconds)
        return seconds

    def lease(key: str, owner: str) -> dict:
        now = time.time()
        item = {
            pk: {"S": key},
            "owner": {"S": owner},
            "lease_until": {"N": repr(now + 8)},
            ttl: {"N": str(int(now) + 68)},
        }
        return dict(
            TableName=table,
            Item=item,
            ConditionExpression="attribute_not_exists(#pk) OR lease_until < :now",
            ExpressionAttributeNames={"#pk": pk},
            ExpressionAttributeValues={":now": {"N": repr(now)}},
        )

    def raw_cold(seller: str, refresh_token: str, keep: bool) -> float:
        """The cold vend's calls alone, in its order; returns their total."""
        name = names.grant_secret_name("na", seller, config.prefix)
        miss, held, owner = token_key(uuid.uuid4().hex), lease_key(uuid.uuid4().hex), uuid.uuid4().hex
        form = {
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": creds.client_id,
            "client_secret": creds.client_secret,
        }
        headers = {"Content-Type": "application/x-www-form-urlencoded;charset=UTF-8"}
        token = {pk: {"S": miss}, "token": {"S": "Atza|" + "x" * 300}, "expires_at": {"N": "1.5"}, ttl: {"N": "1"}}
        steps = {
            "get_miss": lambda: ddb.get_item(TableName=table, Key={pk: {"S": miss}}, ConsistentRead=True),
            "lease_put": lambda: ddb.put_item(**lease(held, owner)),
            "describe": lambda: sm.describe_secret(SecretId=name),
            "get_value": lambda: sm.get_secret_value(SecretId=name),
            "lwa": lambda: post(config.lwa_endpoint, data=form, headers=headers, timeout=httpclient.timeout()).json(),
            "token_put": lambda: ddb.put_item(TableName=table, Item=token),
            "lease_delete": lambda: ddb.delete_item(
                TableName=table,
                Key={pk: {"S": held}},
                ConditionExpression="#owner = :owner",
                ExpressionAttributeNames={"#owner": "owner"},
                ExpressionAttributeValues={":owner": {"S": owner}},
            ),
        }
        return sum(once(step, steps[step], keep) for step in COLD_RAW)

    hit = lambda: ddb.get_item(TableName=table, Key={pk: {"S": hit_key}}, ConsistentRead=True)  # noqa: E731
    for i in range(WARMUP + shared_n):
        keep = i >= WARMUP
        vend(shared_request, "shared", keep)
        total = once("get_hit", hit, keep)
        if keep:
            out["shared_raw"].append(total)
    for i, (seller, refresh_token) in enumerate(cold):
        keep = i >= WARMUP
        vend(parse_request({"selling_partner_id": seller, "region": "na"}), "cold", keep)
        total = raw_cold(seller, refresh_token, keep)
        if keep:
            out["cold_raw"].append(total)
    out["raw"] = raw
    for kind, seen in sequences.items():
        out[kind] = [list(s) for s in seen]
    return out
