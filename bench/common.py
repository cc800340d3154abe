"""Helpers shared by the benchmarks: throwaway services, gunicorn, a load generator, tables.

Not a benchmark itself (``run_all.py`` skips it). Everything here runs on loopback and cleans up
after itself: processes are stopped by the id they were started with, throwaway databases are
dropped.

The load generator is ``wrk`` (Debian's package) when it is installed, else an asyncio
equivalent in this file (``python bench/common.py loadgen …``): keep-alive HTTP/1.1 over N
connections, one body per request from a template, latency percentiles in the same shape.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
#: In request bodies, this marker is replaced by a per-request counter (every body differs).
COUNTER = "{n}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def cores() -> tuple[set[int], set[int]]:
    """(load generator cores, server cores): the generator gets core 1, the server the rest."""
    available = set(os.sched_getaffinity(0))
    generator = {1} if 1 in available else {min(available)}
    server = available - generator or available
    return generator, server


def taskset(cpus: set[int]) -> list[str]:
    if shutil.which("taskset") is None:
        return []
    return ["taskset", "-c", ",".join(str(c) for c in sorted(cpus))]


def percentile(sorted_values: Sequence[float], share: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(share * len(sorted_values)) - 1))
    return sorted_values[index]


# --- throwaway services -------------------------------------------------------------------


class ThrowawayRedis:
    """A private ``redis-server`` (no persistence) on a spare loopback port."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> ThrowawayRedis:
        from redis import Redis
        from redis.exceptions import RedisError

        self.workdir.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            probe = Redis(port=self.port, socket_connect_timeout=0.5)
            try:
                probe.ping()
                return self
            except RedisError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.05)
            finally:
                probe.close()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        self.process = None


@contextmanager
def throwaway_redis(workdir: Path) -> Iterator[ThrowawayRedis | None]:
    """A private Redis, or None when ``redis-server`` is not installed."""
    if shutil.which("redis-server") is None:
        yield None
        return
    server = ThrowawayRedis(workdir).start()
    try:
        yield server
    finally:
        server.stop()


def postgres_server_url() -> str | None:
    """The PostgreSQL server to benchmark on (``BENCH_DATABASE_URL`` or ``DATABASE_URL``)."""
    from amo_bridge.settings import normalize_database_url

    for name in ("BENCH_DATABASE_URL", "DATABASE_URL"):
        raw = os.environ.get(name, "").strip()
        if raw.startswith(("postgres://", "postgresql")):
            return normalize_database_url(raw)
    return normalize_database_url("postgresql://postgres@127.0.0.1:5432/postgres")


@contextmanager
def throwaway_postgres() -> Iterator[str | None]:
    """A fresh database on the PostgreSQL server, dropped afterwards; None if unreachable."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    server = postgres_server_url()
    admin = create_engine(make_url(server).set(database="postgres"), isolation_level="AUTOCOMMIT")
    name = f"amo_bridge_bench_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001 - no server: the caller reports "skipped"
        print(f"  (PostgreSQL unavailable: {str(exc).splitlines()[0]})")
        admin.dispose()
        yield None
        return
    try:
        yield make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = :name AND pid <> pg_backend_pid()"), {"name": name})
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


@contextmanager
def scratch_dir(prefix: str) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


# --- gunicorn -----------------------------------------------------------------------------


@dataclass
class Server:
    process: subprocess.Popen
    url: str

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def start_gunicorn(app: str, *, env: dict[str, str], cpus: set[int], ready_path: str,
                   pythonpath: Sequence[Path] = (), log: Path | None = None) -> Server:
    """gunicorn with ``config/gunicorn.conf.py`` on a spare loopback port, pinned to ``cpus``."""
    port = free_port()
    paths = [str(ROOT), *(str(p) for p in pythonpath)]
    full_env = {**os.environ, **env, "BIND": f"127.0.0.1:{port}",
                "PYTHONPATH": os.pathsep.join(paths)}
    command = [*taskset(cpus), str(Path(sys.executable).with_name("gunicorn")),
               "-c", str(ROOT / "config" / "gunicorn.conf.py"), app]
    output = log.open("ab") if log else subprocess.DEVNULL
    process = subprocess.Popen(command, cwd=ROOT, env=full_env, stdout=output,
                               stderr=subprocess.STDOUT)
    server = Server(process, f"http://127.0.0.1:{port}")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited ({process.returncode}) serving {app}"
                               + (f"; see {log}" if log else ""))
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                sock.sendall(f"GET {ready_path} HTTP/1.0\r\nHost: x\r\n\r\n".encode())
                if sock.recv(64).split(b" ")[1:2] == [b"200"]:
                    return server
        except OSError:
            pass
        time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"gunicorn did not answer serving {app}")


def cpu_ticks() -> dict[int, tuple[int, int]]:
    """Per core: (all ticks, ticks stolen by the hypervisor) so far, from ``/proc/stat``."""
    ticks: dict[int, tuple[int, int]] = {}
    try:
        with open("/proc/stat") as stat:
            for line in stat:
                name, *fields = line.split()
                if name.startswith("cpu") and name[3:].isdigit():
                    values = [int(v) for v in fields[:8]]
                    ticks[int(name[3:])] = (sum(values), values[7] if len(values) > 7 else 0)
    except OSError:
        pass
    return ticks


def stolen_share(before: dict[int, tuple[int, int]], after: dict[int, tuple[int, int]],
                 cpus: set[int]) -> float:
    """The share of ``cpus``' time the hypervisor gave to other machines between two readings."""
    total = sum(after[c][0] - before[c][0] for c in cpus if c in before and c in after)
    stolen = sum(after[c][1] - before[c][1] for c in cpus if c in before and c in after)
    return stolen / total if total else 0.0


# --- load generation ----------------------------------------------------------------------


@dataclass
class Load:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    statuses: dict[str, int] = field(default_factory=dict)
    errors: int = 0
    tool: str = "wrk"
    #: Latency in microseconds → how many requests took it (so that slices can be pooled).
    histogram: dict[int, int] = field(default_factory=dict, repr=False)

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def non_200(self) -> int:
        return sum(n for s, n in self.statuses.items() if s != "200") + self.errors

    @classmethod
    def pooled(cls, slices: Sequence[Load]) -> Load:
        """Several runs against one target as one: requests over the summed time, percentiles
        of the merged latency histograms."""
        histogram: Counter[int] = Counter()
        statuses: Counter[str] = Counter()
        for one in slices:
            histogram.update(one.histogram)
            statuses.update(one.statuses)
        values = sorted(histogram.items())
        return cls(requests=sum(s.requests for s in slices),
                   seconds=sum(s.seconds for s in slices),
                   p50_ms=histogram_percentile(values, 0.50) / 1000,
                   p99_ms=histogram_percentile(values, 0.99) / 1000,
                   statuses=dict(statuses), errors=sum(s.errors for s in slices),
                   tool=slices[0].tool, histogram=dict(histogram))


def histogram_percentile(values: Sequence[tuple[int, int]], share: float) -> float:
    """The ``share`` percentile of sorted ``(value, count)`` pairs, as :func:`percentile`."""
    total = sum(count for _, count in values)
    if not total:
        return float("nan")
    rank = min(total, max(1, round(share * total)))
    seen = 0
    for value, count in values:
        seen += count
        if seen >= rank:
            return float(value)
    return float(values[-1][0])


def run_load(url: str, body_template: str, *, headers: dict[str, str], connections: int,
             seconds: float, cpus: set[int], use_wrk: bool | None = None, first: int = 1
             ) -> Load:
    """POST ``body_template`` (``{n}`` → a counter from ``first``) to ``url`` for ``seconds``."""
    if use_wrk is None:
        use_wrk = shutil.which("wrk") is not None
    if use_wrk:
        return _wrk(url, body_template, headers=headers, connections=connections,
                    seconds=seconds, cpus=cpus, first=first)
    command = [*taskset(cpus), sys.executable, str(BENCH / "common.py"), "loadgen", url,
               "--connections", str(connections), "--seconds", str(seconds),
               "--headers", json.dumps(headers), "--first", str(first)]
    done = subprocess.run(command, input=body_template, capture_output=True, text=True,
                          check=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["histogram"] = {int(k): v for k, v in result.get("histogram", {}).items()}
    return Load(**result, tool="python")


_LUA = """
wrk.method = "POST"
%(headers)s
local prefix = [==[%(prefix)s]==]
local suffix = [==[%(suffix)s]==]
local n = %(first)d - 1
request = function()
  n = n + 1
  return wrk.format(nil, nil, nil, prefix .. n .. suffix)
end
done = function(summary, latency, requests)
  local e = summary.errors
  for i = 1, #latency do
    local value, count = latency(i)
    io.write(string.format("LATENCY %%d %%d\\n", value, count))
  end
  io.write(string.format(
    "RESULT %%d %%d %%d %%d %%d %%d %%d %%d %%d\\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), e.status, e.connect, e.read, e.write,
    e.timeout))
end
"""


def _wrk(url: str, body_template: str, *, headers: dict[str, str], connections: int,
         seconds: float, cpus: set[int], first: int) -> Load:
    prefix, _, suffix = body_template.partition(COUNTER)
    lines = "\n".join(f'wrk.headers["{k}"] = "{v}"' for k, v in headers.items())
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(_LUA % {"headers": lines, "prefix": prefix, "suffix": suffix,
                             "first": first})
    try:
        done = subprocess.run(
            [*taskset(cpus), "wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s",
             "--timeout", "10s", "-s", script.name, url],
            capture_output=True, text=True, check=True)
    finally:
        os.unlink(script.name)
    lines = done.stdout.splitlines()
    line = next(x for x in lines if x.startswith("RESULT "))
    requests_, duration, p50, p99, status, *errors = (int(x) for x in line.split()[1:])
    histogram: Counter[int] = Counter()
    for x in lines:
        if x.startswith("LATENCY "):
            value, count = (int(v) for v in x.split()[1:])
            histogram[value] += count
    return Load(requests=requests_, seconds=duration / 1e6, p50_ms=p50 / 1000, p99_ms=p99 / 1000,
                statuses={"non-2xx": status} if status else {"200": requests_},
                errors=sum(errors), histogram=dict(histogram))


async def _generate(host: str, port: int, path: str, template: str, headers: dict[str, str],
                    connections: int, seconds: float, first: int) -> dict[str, Any]:
    prefix, _, suffix = template.partition(COUNTER)
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    counter = iter(range(first, 1 << 62))
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    errors = 0
    deadline = time.perf_counter() + seconds

    async def one_connection() -> None:
        nonlocal errors
        reader = writer = None
        while time.perf_counter() < deadline:
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection(host, port)
                body = f"{prefix}{next(counter)}{suffix}".encode()
                started = time.perf_counter()
                writer.write(f"POST {path} HTTP/1.1\r\nHost: {host}\r\n{head}"
                             f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
                answer = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in answer.split(b"\r\n")[1:]:
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                if length:
                    await reader.readexactly(length)
                latencies.append(time.perf_counter() - started)
                statuses[answer[9:12].decode()] += 1
                if b"connection: close" in answer.lower():
                    writer.close()
                    reader = writer = None
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
                errors += 1
                if writer is not None:
                    writer.close()
                reader = writer = None
        if writer is not None:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(one_connection() for _ in range(connections)))
    elapsed = time.perf_counter() - started
    latencies.sort()
    histogram = Counter(round(seconds * 1e6) for seconds in latencies)
    return {"requests": len(latencies), "seconds": elapsed,
            "p50_ms": percentile(latencies, 0.50) * 1000,
            "p99_ms": percentile(latencies, 0.99) * 1000,
            "statuses": dict(statuses), "errors": errors,
            "histogram": {str(k): v for k, v in histogram.items()}}


def _loadgen_main(argv: list[str]) -> int:
    from urllib.parse import urlsplit

    parser = argparse.ArgumentParser(prog="common.py loadgen")
    parser.add_argument("url")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--headers", default="{}")
    parser.add_argument("--first", type=int, default=1)
    args = parser.parse_args(argv)
    parts = urlsplit(args.url)
    result = asyncio.run(_generate(parts.hostname, parts.port or 80, parts.path or "/",
                                   sys.stdin.read(), json.loads(args.headers), args.connections,
                                   args.seconds, args.first))
    print(json.dumps(result))
    return 0


# --- output -------------------------------------------------------------------------------


def table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(str(c).rjust(w) if i else str(c).ljust(w)
                       for i, (c, w) in enumerate(zip(row, widths, strict=True)))
             for row in [header, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


if __name__ == "__main__":
    if sys.argv[1:2] == ["loadgen"]:
        sys.exit(_loadgen_main(sys.argv[2:]))
    sys.exit("usage: python bench/common.py loadgen URL [--connections N] [--seconds S]")
