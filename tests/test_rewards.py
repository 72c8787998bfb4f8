"""The GRM as a policy reward: listwise groups, normalisation, TRL (in-process, served, 2 real processes), the
OpenRLHF endpoint and the verl adapter.

The judge is a real tiny Llama GRM that has memorised one verdict for four responses: whatever the prompt, the
response SHOWN first gets 8, then 3, 5 and 1. With ``order_strategy="fixed"`` and k = 1 a group's rewards are
therefore known exactly ([8, 3, 5, 1] by position), which makes a misplaced reward visible.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from http.server import ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from trl_grm import GRMForPointwiseScoring
from trl_grm.rewards import GRMReward, GRMRewardConfig, ServedGRMReward
from trl_grm.rewards.groups import group_outcome, infer_group_size, normalize, plan_sublists, split_groups
from trl_grm.serving.app import ServeSettings
from trl_grm.testing import TINY_JUDGEMENT, build_tiny_judge, build_tiny_model

ROOT = Path(__file__).resolve().parents[1]
VERDICT = [8, 3, 5, 1]
PROMPTS = ["Say hi."] * 4 + ["Count to three."] * 4
COMPLETIONS = ["hi", "hello there", "yo", "", "1 2 3", "one two three", "3 2 1", "no"]


@pytest.fixture(scope="module")
def judge4_dir(tmp_path_factory):
    judgement = TINY_JUDGEMENT.replace("\\boxed{8, 3}", "\\boxed{8, 3, 5, 1}")
    return build_tiny_judge(tmp_path_factory.mktemp("judge4") / "model", judgement=judgement, num_responses=4)


@pytest.fixture(scope="module")
def judge4(judge4_dir):
    return GRMForPointwiseScoring.from_pretrained(judge4_dir)


def fixed(judge4, **kwargs) -> GRMReward:
    return GRMReward(judge4, config=None, **{"num_samples": 1, "order_strategy": "fixed", **kwargs})


# ------------------------------------------------------------------------------------------------ pure group logic
def test_group_size_is_inferred_from_runs_of_equal_prompts():
    assert infer_group_size(["a"] * 4 + ["b"] * 4) == 4
    assert infer_group_size(["a"] * 4 + ["a"] * 4 + ["b"] * 4) == 4  # two neighbouring groups share a prompt
    assert infer_group_size(["a", "b", "c"]) == 1
    with pytest.raises(ValueError, match="does not split into groups of 3"):
        split_groups(8, 3)


def test_sublists_cover_every_completion_and_overlap():
    rng = random.Random(0)
    assert plan_sublists(4, 8, "overlap", rng) == [[0, 1, 2, 3]]
    plan = plan_sublists(16, 8, "overlap", rng)
    assert all(len(sub) == 8 for sub in plan) and len(plan) == 3
    assert set().union(*map(set, plan)) == set(range(16))
    assert all(set(a) & set(b) for a, b in zip(plan, plan[1:]))  # neighbouring windows share completions
    pairs = plan_sublists(5, 4, "pairwise", rng)
    assert len(pairs) == 10 and all(len(p) == 2 for p in pairs)


def test_normalizations_by_hand():
    means = [8.0, 3.0, None, 3.0]
    assert normalize(means, "mean") == means
    assert normalize(means, "centered") == [8 - 14 / 3, 3 - 14 / 3, None, 3 - 14 / 3]
    assert normalize(means, "rank") == [1.0, 0.25, None, 0.25]  # the two 3s share ranks 1 and 2 of 0..2
    assert normalize([None, 5.0], "rank") == [None, 0.5]
    assert normalize([None, None], "centered") == [None, None]


def test_overlapping_sublists_average_a_completions_mean_scores():
    """Two inputs sharing member 1: its mean score is the average of its per-sample means in both."""
    results = [
        {"scores": [16, 8], "num_used": 2, "num_samples": 2, "num_failed": 0, "samples": []},
        {"scores": [4, 20], "num_used": 2, "num_samples": 3, "num_failed": 1, "samples": []},
    ]
    out = group_outcome(3, [[0, 1], [1, 2]], results, "mean")
    assert out.mean_scores == [8.0, (4.0 + 2.0) / 2, 10.0]
    assert out.num_samples == 5 and out.num_failed_samples == 1 and not out.tied
    failed = {"scores": None, "num_used": 0, "num_samples": 2, "num_failed": 2, "samples": []}
    out = group_outcome(3, [[0, 1], [1, 2]], [results[0], failed], "mean")
    assert out.rewards == [8.0, 4.0, None]  # member 2 was only in the failed input: no reward, not a made-up one


def test_config_from_environment():
    env = {"TRL_GRM_REWARD_NUM_SAMPLES": "8", "TRL_GRM_REWARD_K_META": "none", "TRL_GRM_REWARD_LOG_CRITIQUES": "0",
           "TRL_GRM_REWARD_NORMALIZATION": "rank", "OTHER": "x"}  # fmt: skip
    config = GRMRewardConfig.from_env(env)
    assert (config.num_samples, config.k_meta, config.log_critiques, config.normalization) == (8, None, False, "rank")
    with pytest.raises(ValueError, match="unknown setting TRL_GRM_REWARD_NUM_SAMPLE;"):
        GRMRewardConfig.from_env({"TRL_GRM_REWARD_NUM_SAMPLE": "8"})
    with pytest.raises(ValueError, match="TRL_GRM_REWARD_NUM_SAMPLES='many' is not a valid int"):
        GRMRewardConfig.from_env({"TRL_GRM_REWARD_NUM_SAMPLES": "many"})
    with pytest.raises(ValueError, match="normalization must be one of"):
        GRMRewardConfig(normalization="zscore")
    with pytest.raises(ValueError, match="either model .* or server_url"):
        GRMRewardConfig(model="x", server_url="http://127.0.0.1:1")


# ------------------------------------------------------------------------------------------------ in-process reward
def test_each_group_is_one_grm_input_and_rewards_land_on_their_completions(judge4):
    reward = fixed(judge4)
    logged: dict = {}
    out = reward(PROMPTS, COMPLETIONS, log_extra=logged.__setitem__, log_metric=logged.__setitem__)
    assert out == [8.0, 3.0, 5.0, 1.0] * 2
    (call,) = reward.calls
    assert call["engine_calls"] == 1 and call["scored_groups"] == [0, 1] and call["responses_per_input"] == [4, 4]
    assert logged["grm_votes"][1] == "3.00 = mean(3)"
    assert logged["grm_critique"][2].startswith("[this completion was Reply 3 of 4] ")
    assert "Accuracy" in logged["grm_principles"][0]
    assert logged["grm/unscored_rate"] == 0 and logged["grm/mean_votes"] == 1 and logged["grm/tie_rate"] == 0


@pytest.mark.parametrize(
    ("normalization", "expected"),
    [("centered", [3.75, -1.25, 0.75, -3.25]), ("rank", [1.0, 1 / 3, 2 / 3, 0.0])],
)
def test_normalizations_through_the_reward(judge4, normalization, expected):
    assert fixed(judge4, normalization=normalization)(PROMPTS[:4], COMPLETIONS[:4]) == pytest.approx(expected)


def test_rewards_do_not_depend_on_the_rest_of_the_batch(judge4):
    """Random orders and k = 4 votes: a group scores the same alone or next to another group (same step)."""
    both = GRMReward(judge4, num_samples=4)(PROMPTS, COMPLETIONS)
    alone = GRMReward(judge4, num_samples=4)(PROMPTS[4:], COMPLETIONS[4:])
    assert both[4:] == alone
    assert len(set(both[:4])) > 1  # the votes really differ between completions


def test_unscorable_groups_get_none_and_are_counted(judge4):
    """Pairs judged by a judge that always writes four scores: every sample fails the count check."""
    logged: dict = {}
    out = fixed(judge4)(["Q?"] * 2, ["a", "b"], log_metric=logged.__setitem__, log_extra=logged.__setitem__)
    assert out == [None, None]
    assert logged["grm/unscored_rate"] == 1 and logged["grm/failed_sample_rate"] == 1
    assert logged["grm_votes"] == ["unscored", "unscored"]


def test_conversational_prompts_and_completions(judge4):
    prompts = [[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Say hi."}]] * 4
    completions = [[{"role": "assistant", "content": c}] for c in COMPLETIONS[:4]]
    assert fixed(judge4)(prompts, completions) == [8.0, 3.0, 5.0, 1.0]


def test_wrong_num_generations_is_named(judge4):
    with pytest.raises(ValueError, match="group 0 .* mixes prompts: num_generations=8"):
        fixed(judge4, num_generations=8)(PROMPTS, COMPLETIONS)


def test_large_groups_are_scored_in_sublists(judge4):
    """G = 8 with max_group_size 4: overlapping windows of 4, each completion's reward the mean of its windows."""
    reward = fixed(judge4, max_group_size=4)
    out = reward(["Q?"] * 8, [f"answer {i}" for i in range(8)])
    (call,) = reward.calls
    assert call["inputs_per_group"] == [3] and call["responses_per_input"] == [4, 4, 4]
    assert all(r is not None and 1 <= r <= 8 for r in out)


# ---------------------------------------------------------------------------------------------------- trl-grm serve
@pytest.fixture(scope="module")
def served(judge4):
    from test_serve import Served

    server = Served(lambda: judge4, ServeSettings(api_key="t0ken", reward_max_group_size=4))
    yield server
    server.close()


def test_served_reward_is_async_and_equals_the_in_process_one(served, judge4):
    from trl.trainer.utils import is_async_callable

    reward = GRMReward(server_url=served.url, api_key="t0ken", num_samples=4)
    assert isinstance(reward, ServedGRMReward) and is_async_callable(reward)
    logged: dict = {}
    out = asyncio.run(reward(PROMPTS, COMPLETIONS, log_extra=logged.__setitem__))
    assert out == GRMReward(judge4, num_samples=4)(PROMPTS, COMPLETIONS)
    assert logged["grm_critique"][0].startswith("[this completion was Reply")


def test_served_reward_reports_the_servers_refusal(served):
    reward = GRMReward(server_url=served.url, api_key="wrong", max_retries=0)
    with pytest.raises(RuntimeError, match="HTTP 401: missing or wrong bearer token"):
        asyncio.run(reward(PROMPTS, COMPLETIONS))


def test_openrlhf_get_reward_contract(served):
    """OpenRLHF's remote RM contract (openrlhf/utils/remote_rm_utils.py): POST {"query", "prompts", "labels"},
    read "rewards" (and "scores", "extra_logs"). No OpenRLHF install is needed: the contract is plain JSON."""
    prompts = ["<|user|>Say hi.<|assistant|>"] * 4 + ["<|user|>Pick one.<|assistant|>"] * 2
    responses = ["hi", "hello there", "yo", "", "a", "b"]
    body = {"query": [p + r for p, r in zip(prompts, responses)], "prompts": prompts, "labels": [""] * 6}
    answer = httpx.post(f"{served.url}/get_reward", json=body, headers={"Authorization": "Bearer t0ken"}, timeout=60)
    assert answer.status_code == 200, answer.text
    data = answer.json()
    # the 4 completions of the first prompt are judged together (8, 3, 5, 1 by shown position, fixed per sample);
    # the pair of the second prompt gets four scores for two replies from this judge: unscored, null
    assert data["rewards"][4:] == [None, None] and all(r is not None for r in data["rewards"][:4])
    assert data["extra_logs"]["grm_unscored"] == [0, 0, 0, 0, 1, 1]
    assert all(0 <= s <= 1 for s in data["scores"][:4])
    assert set(data["extra_logs"]) == {"grm_mean_score", "grm_unscored", "grm_tied", "grm_votes"}
    assert all(isinstance(v, float) for values in data["extra_logs"].values() for v in values)
    assert len(data["critiques"]) == 6
    bad = httpx.post(f"{served.url}/get_reward", json={"query": ["x"], "prompts": ["y"]},
                     headers={"Authorization": "Bearer t0ken"})  # fmt: skip
    assert bad.status_code == 422 and "query[0] does not start with prompts[0]" in bad.text


# ------------------------------------------------------------------------------------------------------------ verl
@pytest.fixture
def router():
    """A fake OpenAI-compatible router (the scripted judge of test_openai_backend: replies containing GOOD get the
    top score). verl is not installed: the contract is the function signature and the returned dict."""
    from test_openai_backend import FakeAPI, Handler

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    httpd.api = FakeAPI()
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def test_verl_compute_score_contract(router, monkeypatch):
    from trl_grm.rewards.verl import compute_score

    monkeypatch.setenv("TRL_GRM_VERL_MODEL", "grm")
    monkeypatch.setenv("TRL_GRM_REWARD_NUM_SAMPLES", "2")
    address = f"127.0.0.1:{router.server_address[1]}"

    async def score(solution, extra):
        return await compute_score(
            data_source="synthetic",
            solution_str=solution,
            ground_truth="4",
            extra_info=extra,
            reward_router_address=address,
            reward_model_tokenizer=None,
        )

    async def both():
        return await asyncio.gather(score("GOOD: 4", {"question": "2+2?"}), score("5", {"question": "2+2?"}))

    good, bad = asyncio.run(both())  # concurrent calls, as verl's reward loop makes them
    assert good["score"] == 10.0 and bad["score"] == 1.0
    assert good["grm_scored"] and good["grm_votes"] == 2 and "replies were examined" in good["grm_critique"]
    (request,) = {json.dumps(r["messages"]) for r in router.api.requests if "GOOD" in r["messages"][-1]["content"]}
    assert "2+2?" in request and router.api.requests[0]["model"] == "grm"
    with pytest.raises(ValueError, match="extra_info has no 'question'"):
        asyncio.run(score("x", {}))
    router.api.garbage = True
    with pytest.raises(RuntimeError, match="set TRL_GRM_VERL_FAILURE_SCORE"):
        asyncio.run(score("unparseable verdicts", {"question": "q"}))
    monkeypatch.setenv("TRL_GRM_VERL_FAILURE_SCORE", "0")
    out = asyncio.run(score("unparseable verdicts", {"question": "q"}))
    assert out["score"] == 0.0 and out["grm_scored"] is False


# ------------------------------------------------------------------------------------------ TRL: 2 real processes
def wait_ready(url: str, process: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "the server exited"
        try:
            if httpx.get(f"{url}/ready", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError("the server did not become ready")


def run_training(command: list[str], cwd: Path, done: Path, timeout: float = 600, grace: float = 60):
    """Run a multi-process training command with its output in a file; returns (returncode, output).

    Returns ``None`` as the return code when the run finished its work (``done`` written and the final metrics
    printed) but the process did not exit within ``grace`` seconds: torch's gloo process group can hang in its
    destructor at interpreter exit (seen in CI: ~ProcessGroupGloo joining a worker thread after trl's grpo script
    returned). The process group is then killed; anything else that hangs fails the test.
    """
    log = cwd / "run.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(command, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                                env={**os.environ, "HF_HUB_OFFLINE": "1"})  # fmt: skip
        start, finished_at = time.monotonic(), None
        while proc.poll() is None:
            now = time.monotonic()
            if finished_at is None and done.exists() and "train_runtime" in log.read_text(errors="replace"):
                finished_at = now
            if now - start > timeout or (finished_at is not None and now - finished_at > grace):
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                text = log.read_text(errors="replace")
                if finished_at is None:
                    raise AssertionError(f"timed out after {timeout} s:\n{text[-6000:]}")
                return None, text
            time.sleep(1)
    return proc.returncode, log.read_text(errors="replace")


@pytest.mark.parametrize("where", ["in-process", "served"])
def test_stock_trl_cli_two_processes_keep_groups_whole(judge4_dir, tmp_path, where):
    """`trl grpo --reward_funcs trl_grm.rewards.grm_reward` configured by the YAML's env: block, as 2 CPU processes
    (gloo). 12 completions = 3 groups of 4, 6 per process: group 1 is split between the processes. Each group must
    be scored once, as one GRM input of 4, and every completion must get the reward of its own position. "served":
    the same through `trl-grm serve` (the async reward function, whose exchange runs on TRL's event-loop thread)."""
    server = None
    if where == "served":  # a real `trl-grm serve` process on loopback
        from test_serve import free_port

        port = free_port()
        server = subprocess.Popen([sys.executable, "-m", "trl_grm.cli.main", "serve", "--model_name_or_path",
                                   str(judge4_dir), "--port", str(port)], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)  # fmt: skip
        wait_ready(f"http://127.0.0.1:{port}", server)
        source = f"TRL_GRM_REWARD_SERVER_URL: http://127.0.0.1:{port}"
    else:
        source = f"TRL_GRM_REWARD_MODEL: {judge4_dir}"
    policy = build_tiny_model(tmp_path / "policy")
    data = tmp_path / "data"
    data.mkdir()
    prompts = ["Say hi.", "Count to three.", "Name a colour.", "What is two plus two?", "Write a poem.", "Spell cat."]
    (data / "train.jsonl").write_text("".join(json.dumps({"prompt": p}) + "\n" for p in prompts))
    trace = tmp_path / "trace"
    (tmp_path / "grpo.yaml").write_text(f"""model_name_or_path: {policy}
dataset_name: {data}
reward_funcs: [trl_grm.rewards.grm_reward]
output_dir: {tmp_path / "out"}
per_device_train_batch_size: 6
generation_batch_size: 12
num_generations: 4
max_completion_length: 8
max_steps: 2
use_cpu: true
bf16: false
report_to: none
logging_steps: 1
save_strategy: "no"
env:
  {source}
  TRL_GRM_REWARD_NUM_SAMPLES: "1"
  TRL_GRM_REWARD_ORDER_STRATEGY: fixed
  TRL_GRM_REWARD_TRACE_DIR: {trace}
""")
    trl = Path(sys.executable).with_name("trl")
    config = ROOT / "recipes" / "accelerate_configs" / "multi_cpu.yaml"
    try:
        returncode, output = run_training(
            [str(trl), "grpo", "--config", str(tmp_path / "grpo.yaml"), "--accelerate_config", str(config)],
            tmp_path, done=tmp_path / "out" / "model.safetensors",
        )  # fmt: skip
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=60)
    assert returncode in (0, None), output[-6000:]
    calls = [json.loads(line) for rank in (0, 1) for line in (trace / f"rank{rank}.jsonl").read_text().splitlines()]
    for step in {c["step"] for c in calls}:
        at_step = sorted((c for c in calls if c["step"] == step), key=lambda c: c["rank"])
        assert [c["rank"] for c in at_step] == [0, 1]  # both processes took part
        assert [c["rows"] for c in at_step] == [[0, 6], [6, 12]]
        scored = [g for c in at_step for g in c["scored_groups"]]
        assert sorted(scored) == [0, 1, 2]  # every group once, on one process
        assert all(c["responses_per_input"] == [4] * len(c["scored_groups"]) for c in at_step)
        assert all(c["engine_calls"] == 1 for c in at_step)
        for c in at_step:  # every row got the reward of its own position in its group
            assert c["rewards"] == [float(VERDICT[row % 4]) for row in range(*c["rows"])]
    logged = [line for line in output.splitlines() if "rewards/grm_reward/mean" in line]
    assert logged and all("'rewards/grm_reward/mean': '4.25'" in line for line in logged)


# ------------------------------------------------------------------------------ TRL in-process: mixed with a rule
def test_grpo_trainer_mixes_the_grm_reward_with_a_rule_reward(judge4, tiny_model_dir, tmp_path):
    """GRPOTrainer with [GRMReward, a rule] and reward_weights: TRL logs both and trains on the weighted sum."""
    from datasets import Dataset
    from trl import GRPOConfig, GRPOTrainer

    def short(completions, **kwargs):  # a rule reward: 1 for completions under 20 characters
        return [float(len(c) < 20) for c in completions]

    grm = fixed(judge4)
    config = GRPOConfig(output_dir=str(tmp_path), max_steps=1, per_device_train_batch_size=8, num_generations=4,
                        max_completion_length=8, reward_weights=[1.0, 2.0], report_to="none", use_cpu=True,
                        bf16=False, logging_steps=1, save_strategy="no", disable_tqdm=True)  # fmt: skip
    data = Dataset.from_list([{"prompt": "Say hi."}, {"prompt": "Count to three."}])
    trainer = GRPOTrainer(model=str(tiny_model_dir), reward_funcs=[grm, short], args=config, train_dataset=data)
    trainer.train()
    log = trainer.state.log_history[0]
    assert log["rewards/grm/mean"] == pytest.approx(4.25)
    assert log["reward"] == pytest.approx(4.25 + 2 * log["rewards/short/mean"])
    assert log["grm/unscored_rate"] == 0 and log["grm/mean_votes"] == 1
    assert grm.calls[0]["engine_calls"] == 1 and grm.calls[0]["responses_per_input"] == [4, 4]


# ----------------------------------------------------------------- TRL's asynchronous GRPO: one call per rollout group
def _score_group_as_async_grpo(reward_funcs, prompt: str, completions: list[str]):
    """TRL's own ``_AsyncRolloutLoop._score_group`` (trl.experimental.async_grpo) on one finished rollout group:
    conversational prompts and completions, no trainer_state, sync reward functions in a thread, async ones awaited.
    The worker's generation side (a vLLM server, weight sync) is not needed to score, so a stand-in holds only what
    ``_score_group`` reads."""
    from types import SimpleNamespace

    from accelerate import PartialState
    from trl.experimental.async_grpo.async_rollout_worker import RolloutGroup, TrainingSequence, _AsyncRolloutLoop

    g = len(completions)
    sequence = TrainingSequence(input_ids=[1, 2], completion_mask=[0, 1], old_log_probs=[0.0, 0.0], rollout_id=0)
    group = RolloutGroup(
        prompts=[[{"role": "user", "content": prompt}]] * g,
        reward_kwargs={},
        completions=[[{"role": "assistant", "content": c}] for c in completions],
        completions_ids=[[1]] * g,
        completions_sequences=[[sequence]] * g,
        tool_call_counts=[0] * g,
        tool_failure_counts=[0] * g,
        model_version=0,
        group_id=0,
        env_rewards=[None] * g,
        rollout_rewards=[None] * g,
    )
    worker = SimpleNamespace(reward_funcs=reward_funcs, reward_func_names=[f.__name__ for f in reward_funcs],
                             _env_reward_types=[], _provides_rollout_reward=False)  # fmt: skip
    PartialState()  # the worker process sets it up (TRL logs through accelerate)
    samples = asyncio.run(_AsyncRolloutLoop._score_group(worker, group))
    return [s.metrics["rewards/grm"] for s in samples]


def test_async_grpo_scores_one_group_per_call_without_a_gather(judge4, monkeypatch):
    import trl_grm.rewards.grm_reward_func as module

    def no_gather(obj, world):
        raise AssertionError("a group-at-a-time call must not exchange rows with other processes")

    monkeypatch.setattr(module, "distributed", lambda: (1, 2))  # as if inside a 2-process job
    monkeypatch.setattr(module, "all_gather", lambda obj, world: [obj] if world == 1 else no_gather(obj, world))
    reward = fixed(judge4)
    assert _score_group_as_async_grpo([reward], PROMPTS[0], COMPLETIONS[:4]) == [8.0, 3.0, 5.0, 1.0]
    # Rewards in row order: the same completions finishing in another order get their own rewards back, by row.
    shuffled = GRMReward(judge4, num_samples=4)
    rewards = _score_group_as_async_grpo([shuffled], PROMPTS[0], COMPLETIONS[:4])
    direct = GRMReward(judge4, num_samples=4)([[{"role": "user", "content": PROMPTS[0]}]] * 4, COMPLETIONS[:4])
    assert rewards == direct and shuffled.calls[0]["step"] == 0 and shuffled.calls[0]["scored_groups"] == [0]


def test_async_grpo_with_the_served_reward_and_cheaper_votes(served, judge4):
    cheap = dict(num_samples=8, order_strategy="fixed", principles_mode="shared", adaptive=True)
    reward = GRMReward(server_url=served.url, api_key="t0ken", **cheap)
    rewards = _score_group_as_async_grpo([reward], PROMPTS[0], COMPLETIONS[:4])
    assert rewards == [8.0, 3.0, 5.0, 1.0]  # every vote says the same: means unchanged, fewer samples drawn
    local = GRMReward(judge4, **cheap)
    assert local(PROMPTS[:4], COMPLETIONS[:4]) == rewards
    result = local.grm.score({"prompt": PROMPTS[0], "responses": COMPLETIONS[:4]}, local.config.scoring_parameters(0))
    assert result.num_drawn < 8 and result.stopped_by == "predictive"
    assert len({s.principles for s in result.samples}) == 1  # one set of principles for the whole group


def test_serve_cli_checks_the_reward_options(capsys):
    from trl_grm.cli.main import main

    assert main(["serve", "--reward_normalization", "zscore"]) == 2
    err = capsys.readouterr().err
    assert "--reward_normalization must be one of mean, centered, rank" in err and len(err.strip().splitlines()) == 1


@pytest.mark.slow
def test_policy_example_runs_end_to_end(tmp_path):
    """examples/policy_grpo_cpu.py with the tiny policy and the embedded SmolLM2 GRM, one step per arm."""
    sys.path.insert(0, str(ROOT / "examples"))
    from policy_grpo_cpu import main

    assert main(["--policy", "tiny", "--steps", "1", "--num_eval", "6", "--output_dir", str(tmp_path)]) == 0
    results = json.loads((tmp_path / "results.json").read_text())
    assert {"baseline", "oracle", "grm"} <= set(results) and results["grm"]["grm_seconds_per_step"] > 0
    assert (tmp_path / "results.md").read_text().startswith("| reward |")
