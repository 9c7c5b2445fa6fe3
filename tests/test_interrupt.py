"""Killing a real ``hybrid-rec score`` or ``train`` process mid-way loses nothing.

The kill is synchronised on the run's own progress, not on a timer: score is
killed once the output's temporary file holds data, train once the log says
an epoch is done. Afterwards the output is the previous file or absent.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from hybrid_rec import HybridRecommender


def hybrid_rec(*args):
    return subprocess.Popen([sys.executable, "-m", "hybrid_rec.cli", "--no-progress", *args],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def wait_for_partial_temp(folder: Path, name: str, proc, limit=120.0) -> Path:
    """The temporary file of ``name`` once it holds data; fails if the run ends first."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        for entry in os.scandir(folder):
            if entry.name.startswith(f".{name}.") and entry.stat().st_size > 0:
                return Path(entry.path)
        assert proc.poll() is None, "the run ended before its output was half written"
        time.sleep(0.001)
    raise AssertionError("no temporary output appeared")


def test_killed_score_leaves_the_previous_output(model_file_100k, tmp_path):
    rng = np.random.default_rng(0)
    n = 20_000
    pd.DataFrame({"user_id": [f"u{i}" for i in range(n)], "age": rng.integers(10, 70, n),
                  "gender": rng.choice(["M", "F"], n), "occupation": "writer",
                  "zip_code": "10001"}).to_csv(tmp_path / "users.csv", index=False)
    out, rejects = tmp_path / "recs.csv", tmp_path / "recs.rejects.csv"
    out.write_text("previous recommendations\n")
    rejects.write_text("previous rejects\n")
    proc = hybrid_rec("score", "--model", str(model_file_100k), "--users",
                      str(tmp_path / "users.csv"), "--k", "50", "--out", str(out))
    try:
        temp = wait_for_partial_temp(tmp_path, "recs.csv", proc)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert out.read_text() == "previous recommendations\n"
    assert rejects.read_text() == "previous rejects\n"
    assert temp.exists()          # the killed run's partial data stayed in its temp file

    # The next complete run replaces both files.
    done = subprocess.run([sys.executable, "-m", "hybrid_rec.cli", "-q", "score", "--model",
                           str(model_file_100k), "--users", str(tmp_path / "users.csv"),
                           "--k", "2", "--out", str(out)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert len(pd.read_csv(out)) == 2 * n
    assert rejects.read_text() == "file,line,user_id,column,value,reason\n"


def small_training_job(folder: Path, seed: int) -> tuple[Path, Path]:
    """(data folder, spec) of a tiny ids-only training job under ``folder``."""
    data = folder / "data"
    data.mkdir()
    rng = np.random.default_rng(seed)
    pd.DataFrame({"user_id": rng.integers(1, 50, 400), "item_id": rng.integers(1, 80, 400),
                  "rating": rng.integers(1, 6, 400), "timestamp": np.arange(400)}).to_csv(
        data / "interactions.csv", index=False)
    spec = folder / "spec.toml"
    spec.write_text('[interactions]\nuser = "user_id"\nitem = "item_id"\nrating = "rating"\n'
                    'time = "timestamp"\n[users]\nid = "user_id"\n[[users.features]]\n'
                    'kind = "identity"\n[items]\nid = "item_id"\n[[items.features]]\n'
                    'kind = "identity"\n')
    return data, spec


def test_killed_train_leaves_the_previous_model(small_model_100k, tmp_path):
    data, spec = small_training_job(tmp_path, seed=1)
    out = tmp_path / "model.npz"
    small_model_100k.save(out)
    before = out.read_bytes()
    proc = subprocess.Popen(
        [sys.executable, "-m", "hybrid_rec.cli", "-v", "--no-progress", "train", "--spec",
         str(spec), "--data", str(data), "--epochs", "1000000", "--out", str(out)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        for line in proc.stderr:
            if "epoch 1/1000000 done" in line:
                proc.send_signal(signal.SIGKILL)
                break
    finally:
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "model.npz", "spec.toml"]
    assert len(HybridRecommender.load(out).item_ids) == 1682


def signal_when_paused(script: str, args: list[str], sig, folder: Path):
    """Run ``script`` (which prints PAUSED mid-run) with CLI ``args``; send ``sig`` then.

    Returns the exit code, the names in ``folder`` at the pause, and the rest
    of stderr.
    """
    proc = subprocess.Popen([sys.executable, "-c", script, "--no-progress", "-q", *args],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    names = None
    try:
        for line in proc.stderr:
            if line.strip() == "PAUSED":
                names = sorted(p.name for p in folder.iterdir())
                proc.send_signal(sig)
                break
        rest = proc.stderr.read()
    finally:
        proc.wait(timeout=60)
    assert names is not None, "the run ended before it paused"
    return proc.returncode, names, rest


# Runs ``hybrid-rec train`` in this process with the model writer paused after
# its second array: the parent sees "PAUSED" on stderr and kills the run while
# the model file is half written.
PAUSED_TRAIN = """
import sys, time
import numpy as np
from hybrid_rec.cli import main

write_array = np.lib.format.write_array
written = []

def paused(fp, array, *args, **kwargs):
    write_array(fp, array, *args, **kwargs)
    written.append(1)
    if len(written) == 2:
        print("PAUSED", file=sys.stderr, flush=True)
        time.sleep(600)

np.lib.format.write_array = paused
sys.exit(main(sys.argv[1:]))
"""


def test_train_killed_while_writing_the_model_leaves_the_previous_one(small_model_100k,
                                                                      tmp_path):
    data, spec = small_training_job(tmp_path, seed=2)
    out = tmp_path / "model.npz"
    small_model_100k.save(out)
    before = out.read_bytes()
    code, names, _ = signal_when_paused(
        PAUSED_TRAIN, ["train", "--spec", str(spec), "--data", str(data), "--epochs", "2",
                       "--out", str(out)], signal.SIGKILL, tmp_path)
    assert code == -signal.SIGKILL
    # The model was being written beside the target.
    assert len([n for n in names if n.startswith(".model.npz.")]) == 1
    assert out.read_bytes() == before
    assert len(HybridRecommender.load(out).item_ids) == 1682


# Runs ``hybrid-rec score`` with small buckets, paused after the first bucket.
PAUSED_SCORE = """
import sys, time
import hybrid_rec.batch as batch
from hybrid_rec.cli import main

batch.score_files.__kwdefaults__["bucket_bytes"] = 200
score_partition = batch.score_partition

def paused(*args, **kwargs):
    result = score_partition(*args, **kwargs)
    print("PAUSED", file=sys.stderr, flush=True)
    time.sleep(600)
    return result

batch.score_partition = paused
sys.exit(main(sys.argv[1:]))
"""


def test_terminated_score_removes_its_temporary_files(model_file_100k, tmp_path):
    users = tmp_path / "users.csv"
    users.write_text("user_id,age,gender,occupation,zip_code\n"
                     + "".join(f"u{i},{20 + i},F,writer,10001\n" for i in range(40)))
    out = tmp_path / "recs.csv"
    out.write_text("previous recommendations\n")
    code, names, rest = signal_when_paused(
        PAUSED_SCORE, ["score", "--model", str(model_file_100k), "--users", str(users), "--out",
                       str(out)], signal.SIGTERM, tmp_path)
    # The run was bucketed, its buckets beside the output.
    assert len([n for n in names if n.startswith(".hybrid-rec-spill")]) == 1
    assert code == 143
    assert "terminated; no output was written" in rest and "Traceback" not in rest
    assert out.read_text() == "previous recommendations\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["recs.csv", "users.csv"]
