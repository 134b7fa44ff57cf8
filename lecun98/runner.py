"""Many independent training runs, one process each, on all cores (experiments/ scripts).

Every run directory is complete (it has summary.json) or resumable: re-running a script skips
finished runs and continues interrupted ones from their last finished pass.
"""

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from tqdm import tqdm

from lecun98.config import Config
from lecun98.errors import Lecun98Error


def run_many(runs: dict[str, Config], root: str | os.PathLike, jobs: int = 2,
             log_dir: str | os.PathLike = "runs/logs") -> dict[str, dict]:
    """Train every named config into root/<name>/ (jobs at a time); return their summaries.
    Each run's config file and log go to log_dir/<root's name>/ (scripts share run names)."""
    root = Path(root)
    log_dir = Path(log_dir) / root.name
    log_dir.mkdir(parents=True, exist_ok=True)
    todo = {n: c for n, c in runs.items() if not (root / n / "summary.json").exists()}
    for name in runs.keys() - todo.keys():  # a finished run is reused only if it is this config
        if Config.from_file(root / name / "config.json") != runs[name]:
            raise Lecun98Error(f"{root / name} holds a finished run of another configuration "
                               "(the code's settings changed since): delete it to re-run")

    def one(name: str, config: Config) -> None:
        config_file = log_dir / f"{name}.config.json"
        config_file.write_text(json.dumps(config.to_dict()))
        log = log_dir / f"{name}.log"
        env = {**os.environ, "TQDM_DISABLE": "1"}  # one log line a pass, no progress bars
        with log.open("w") as out:
            done = subprocess.run(
                [sys.executable, "-m", "lecun98", "train", "--config", str(config_file),
                 "--run-dir", str(root / name)],
                stdout=out, stderr=subprocess.STDOUT, env=env,
            )
        if done.returncode != 0:
            tail = log.read_text().strip().splitlines()[-1:] or ["(no output)"]
            raise Lecun98Error(f"run {name} failed (exit {done.returncode}): {tail[0]}; see {log}")

    with ThreadPoolExecutor(max(1, jobs)) as pool, tqdm(total=len(todo), desc="runs") as bar:
        futures = {pool.submit(one, n, c): n for n, c in todo.items()}
        for f in as_completed(futures):
            f.result()
            bar.update(1)
            bar.set_postfix_str(futures[f])
    return {n: json.loads((root / n / "summary.json").read_text()) for n in runs}
