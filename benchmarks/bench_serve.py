"""Load test of ``trl-grm serve`` on loopback: N concurrent clients, requests/s and p50 / p99 latency.

Starts the server in this process (uvicorn in a thread) over the tiny judge (or ``--model-path``), runs a bounded
number of requests from ``--clients`` concurrent clients (some of which give up mid-request when
``--disconnect-every`` is set) and stops by itself. It checks that no request is lost or answered twice: every
input the engine scored was asked for exactly once, and every answer a client received is the answer to its own
input. Also reports the serving overhead: the same inputs scored directly with ``grm.score`` in batches of the same
size, in the same process.

    python benchmarks/bench_serve.py --clients 16 --requests 64
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from trl_grm.serving.app import ServeSettings, create_app  # noqa: E402


class CountingGRM:
    """The GRM, counting every input it scores (to prove nothing is scored twice or dropped)."""

    def __init__(self, grm):
        self.grm, self.config, self.meta_rm = grm, grm.config, grm.meta_rm
        self.scored: Counter = Counter()
        self.lock = threading.Lock()

    def score(self, items, **params):
        with self.lock:
            self.scored.update(it.context for it in items)
        return self.grm.score(items, **params)


def start_server(app, port: int):
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/ready", timeout=2).status_code == 200:
                return server, thread, url
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise RuntimeError("the server did not become ready")


def run_load(url: str, bodies: list[dict], clients: int, disconnect_every: int = 0, timeout: float = 120):
    """POST every body once from ``clients`` threads; every ``disconnect_every``-th request gives up after 50 ms.

    Returns (latencies of answered requests, {index: response json}, number of requests given up)."""
    answers: dict[int, dict] = {}
    latencies: list[float] = []
    gave_up = 0
    lock = threading.Lock()

    def one(i: int) -> None:
        nonlocal gave_up
        quick = disconnect_every and i % disconnect_every == disconnect_every - 1
        start = time.perf_counter()
        try:
            r = httpx.post(f"{url}/v1/score", json=bodies[i], timeout=0.05 if quick else timeout)
        except httpx.TimeoutException:
            with lock:
                gave_up += 1
            return
        with lock:
            latencies.append(time.perf_counter() - start)
            answers[i] = {"status": r.status_code, "json": r.json()}

    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(one, range(len(bodies))))
    return latencies, answers, gave_up


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model-path", help="a GRM checkpoint (default: the tiny judge, built here)")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--requests", type=int, default=64)
    parser.add_argument("--num-samples", type=int, default=2)
    parser.add_argument("--max-batch-inputs", type=int, default=16)
    parser.add_argument("--max-wait-ms", type=float, default=10.0)
    parser.add_argument("--disconnect-every", type=int, default=0, help="every N-th client gives up mid-request")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args(argv)

    from trl_grm import GRMForPointwiseScoring
    from trl_grm.testing import build_tiny_judge

    path = args.model_path or str(build_tiny_judge(Path(tempfile.mkdtemp()) / "judge"))
    grm = CountingGRM(GRMForPointwiseScoring.from_pretrained(path))
    bodies = [
        {"inputs": {"prompt": f"Question {i}: what is {i} + {i}?", "responses": [str(2 * i), str(2 * i + 1)]},
         "num_samples": args.num_samples, "temperature": 0.5, "seed": 0}
        for i in range(args.requests)
    ]  # fmt: skip
    settings = ServeSettings(max_batch_inputs=args.max_batch_inputs, max_wait_ms=args.max_wait_ms)
    server, thread, url = start_server(create_app(lambda: grm, settings), args.port)
    try:
        start = time.perf_counter()
        latencies, answers, gave_up = run_load(url, bodies, args.clients, args.disconnect_every)
        wall = time.perf_counter() - start
        time.sleep(0.5)  # let batches of clients that gave up finish
    finally:
        server.should_exit = True
        thread.join(timeout=60)

    asked = Counter(b["inputs"]["prompt"] for b in bodies)
    twice = [p for p, n in grm.scored.items() if n > asked[p]]
    ok = sum(a["status"] == 200 for a in answers.values())
    print(f"{len(bodies)} requests, {args.clients} clients: {ok} answered 200, {gave_up} given up by their client")
    print(f"requests/s {ok / wall:.2f}   p50 {percentile(latencies, 0.5) * 1000:.0f} ms   "
          f"p99 {percentile(latencies, 0.99) * 1000:.0f} ms")  # fmt: skip
    print(f"inputs scored: {sum(grm.scored.values())} (each asked once: {'yes' if not twice else twice})")

    # The serving overhead: the same inputs scored in-process in batches of the same size.
    from trl_grm.protocol.inputs import to_inputs

    items, _ = to_inputs([b["inputs"] for b in bodies])
    expected = []
    start = time.perf_counter()
    for lo in range(0, len(items), args.max_batch_inputs):
        batch = items[lo : lo + args.max_batch_inputs]
        expected += grm.grm.score(batch, num_samples=args.num_samples, temperature=0.5, seed=0)
    direct = time.perf_counter() - start
    print(f"direct grm.score: {len(items) / direct:.2f} inputs/s   served/direct throughput = "
          f"{(ok / wall) / (len(items) / direct):.2f}x")  # fmt: skip
    # Every answer is the answer to its own input (results do not depend on the batch they were scored in).
    wrong = [i for i, a in answers.items() if a["status"] == 200 and a["json"] != expected[i].to_dict()]
    print(f"answers that are not their own input's result: {len(wrong)}")
    return 0 if not twice and not wrong and ok + gave_up == len(bodies) else 1


if __name__ == "__main__":
    raise SystemExit(main())
