"""``trl-grm serve``: a real uvicorn server on 127.0.0.1 over the tiny judge, exercised with httpx."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import uvicorn

from trl_grm import GRMForPointwiseScoring
from trl_grm.serving.app import ServeSettings, create_app

TOKEN = "secret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
PAIR = {"prompt": "What is two plus two?", "responses": ["Four.", "Five."]}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Served:
    """A uvicorn server in a thread; stops when closed."""

    def __init__(self, load, settings: ServeSettings, **app_kwargs):
        self.app = create_app(load, settings, **app_kwargs)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/ready", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise RuntimeError("the server did not become ready")

    @property
    def batcher(self):
        return self.app.state.service.batcher

    def close(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)
        assert not self.thread.is_alive()


class Throttled:
    """The real tiny GRM, slowed down and able to fail on purpose (an engine that misbehaves)."""

    def __init__(self, grm, delay: float = 0.0):
        self.grm, self.delay = grm, delay
        self.config, self.meta_rm = grm.config, grm.meta_rm
        self.calls: list[int] = []

    def score(self, items, **params):
        self.calls.append(len(items))
        time.sleep(self.delay)
        if any("EXPLODE" in it.context for it in items if isinstance(it.context, str)):
            raise RuntimeError("the engine exploded")
        return self.grm.score(items, **params)


SETTINGS = dict(max_batch_inputs=8, max_wait_ms=100, max_queue_inputs=16, max_body_bytes=20_000,
                max_inputs_per_request=8, max_responses=4, api_key=TOKEN)  # fmt: skip


@pytest.fixture(scope="module")
def grm(judge_dir):
    return GRMForPointwiseScoring.from_pretrained(judge_dir)


@pytest.fixture(scope="module")
def engine(grm):
    return Throttled(grm)


@pytest.fixture(scope="module")
def served(engine):
    server = Served(lambda: engine, ServeSettings(**SETTINGS))
    yield server
    server.close()


def post(served, body, headers=AUTH, **kwargs):
    return httpx.post(f"{served.url}/v1/score", json=body, headers=headers, timeout=120, **kwargs)


def test_health_and_ready(served):
    assert httpx.get(f"{served.url}/health").json() == {"status": "ok", "model": "grm"}
    assert httpx.get(f"{served.url}/ready").json()["ready"] is True


def test_score_matches_the_python_api(served, grm):
    response = post(served, {"inputs": PAIR, "num_samples": 3, "temperature": 1.0, "seed": 4})
    assert response.status_code == 200
    assert response.json() == grm.score(PAIR, num_samples=3, temperature=1.0, seed=4).to_dict()
    many = post(served, {"inputs": [PAIR, PAIR], "num_samples": 1, "return_samples": False}).json()
    direct = grm.score([PAIR, PAIR], num_samples=1, return_samples=False)
    assert many == {"results": [r.to_dict() for r in direct]}
    assert all(r["samples"] is None and r["scores"] is not None for r in many["results"])


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}])
def test_a_token_is_required(served, headers):
    response = post(served, {"inputs": PAIR}, headers=headers)
    assert response.status_code == 401 and "bearer token" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    "body, status, message",
    [
        ({"inputs": {"prompt": "q"}}, 422, "input 0 is missing 'responses'"),
        ({"inputs": PAIR, "num_sample": 2}, 422, "num_sample: Extra inputs are not permitted"),
        ({"inputs": PAIR, "temperature": -1}, 422, "temperature must be a number >= 0"),
        ({"inputs": PAIR, "top_p": 2}, 422, "top_p must be a number in (0, 1]"),
        ({"inputs": PAIR, "k_meta": 1}, 422, "k_meta was given but there is no meta_rm"),
        ({"inputs": {**PAIR, "responses": ["a"] * 5}}, 413, "inputs[0].responses: 5 responses, over the limit of 4"),
        ({"inputs": [PAIR] * 9}, 413, "inputs: 9 inputs, over the limit of 8"),
        ({"inputs": {**PAIR, "responses": ["x" * 30_000]}}, 413, "request body over 20000 bytes"),
        ({"num_samples": 2}, 422, "inputs: Field required"),
    ],
)
def test_bad_input_is_a_4xx_naming_the_field(served, body, status, message):
    response = post(served, body)
    assert response.status_code == status, response.text
    assert message in response.json()["error"]["message"]


def test_malformed_json_is_a_422(served):
    response = httpx.post(f"{served.url}/v1/score", content=b"{not json", headers=AUTH)
    assert response.status_code == 422 and "json" in response.json()["error"]["message"].lower()


def test_concurrent_requests_are_micro_batched_with_unchanged_results(served, engine, grm):
    bodies = [{"inputs": {**PAIR, "prompt": f"Question {i}?"}, "num_samples": 2, "temperature": 1.0, "seed": i % 2}
              for i in range(6)]  # fmt: skip
    engine.calls.clear()
    with httpx.Client(timeout=120, headers=AUTH) as client:
        with ThreadPoolExecutor(6) as pool:
            answers = list(pool.map(lambda b: client.post(f"{served.url}/v1/score", json=b), bodies))
    assert all(a.status_code == 200 for a in answers)
    assert sum(engine.calls) == 6 and len(engine.calls) < 6  # fewer engine calls than requests
    for body, answer in zip(bodies, answers):
        params = {k: v for k, v in body.items() if k != "inputs"}
        assert answer.json() == grm.score(body["inputs"], **params).to_dict()  # batching changes no answer


def test_an_engine_error_fails_only_its_batch(served):
    bad = post(served, {"inputs": {**PAIR, "prompt": "EXPLODE"}, "num_samples": 1})
    assert bad.status_code == 500 and "the engine exploded" in bad.json()["error"]["message"]
    assert post(served, {"inputs": PAIR, "num_samples": 1}).status_code == 200  # the server is still up


def test_a_full_queue_answers_429_with_retry_after(grm):
    slow = Throttled(grm, delay=1.0)
    server = Served(lambda: slow, ServeSettings(**{**SETTINGS, "max_queue_inputs": 2, "max_batch_inputs": 1}))
    try:
        with httpx.Client(timeout=120, headers=AUTH) as client:
            with ThreadPoolExecutor(6) as pool:
                body = {"inputs": PAIR, "num_samples": 1}
                answers = list(pool.map(lambda _: client.post(f"{server.url}/v1/score", json=body), range(6)))
        codes = sorted(a.status_code for a in answers)
        assert 429 in codes and 200 in codes and set(codes) <= {200, 429}
        busy = next(a for a in answers if a.status_code == 429)
        assert busy.headers["Retry-After"] == "1"
        assert len(slow.calls) == codes.count(200)  # no request lost or answered twice
    finally:
        server.close()


def test_cli_refuses_a_public_address_without_a_token(capsys, monkeypatch):
    from trl_grm.cli.main import main

    monkeypatch.delenv("TRL_GRM_API_KEY", raising=False)
    assert main(["serve", "--host", "0.0.0.0"]) == 2
    err = capsys.readouterr().err
    assert "--host 0.0.0.0 is not a loopback address" in err and len(err.strip().splitlines()) == 1


def test_sigterm_finishes_the_requests_in_flight_then_exits(judge_dir):
    port = free_port()
    env = {**os.environ, "TRL_GRM_API_KEY": TOKEN}
    proc = subprocess.Popen(
        [sys.executable, "-m", "trl_grm.cli.main", "serve", "--model_name_or_path", judge_dir, "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/ready", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        results = {}

        def call():
            body = {"inputs": [PAIR] * 4, "num_samples": 8, "temperature": 1.0, "max_new_tokens": 128}
            results["response"] = httpx.post(f"{url}/v1/score", json=body, headers=AUTH, timeout=120)

        client = threading.Thread(target=call)
        client.start()
        time.sleep(0.5)  # the request is in flight
        proc.send_signal(signal.SIGTERM)
        client.join(timeout=120)
        assert results["response"].status_code == 200
        assert len(results["response"].json()["results"]) == 4
        # uvicorn re-raises the captured SIGTERM once it has shut down cleanly: the exit is "terminated by SIGTERM"
        assert proc.wait(timeout=60) in (0, -signal.SIGTERM)
        with pytest.raises(httpx.TransportError):  # it no longer accepts connections
            httpx.get(f"{url}/health", timeout=2)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=10)


def test_load_test_loses_nothing_and_answers_each_request_once(judge_dir, capsys):
    """benchmarks/bench_serve.py with small numbers: concurrent clients, some giving up mid-request."""
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    try:
        import bench_serve
    finally:
        sys.path.pop(0)
    argv = ["--model-path", str(judge_dir), "--clients", "8", "--requests", "24", "--disconnect-every", "6"]
    assert bench_serve.main([*argv, "--port", str(free_port()), "--max-wait-ms", "20"]) == 0
    out = capsys.readouterr().out
    assert "each asked once: yes" in out and "answers that are not their own input's result: 0" in out
    assert "requests/s" in out and "p99" in out
