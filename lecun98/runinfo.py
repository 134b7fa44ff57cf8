"""What machine and software produced a run: written as env.json beside every result."""

import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("numpy", "numba", "llvmlite", "scipy", "matplotlib", "tqdm")


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def llvm_cpu() -> str:
    """The CPU Numba compiles for (e.g. "znver4"): float32 and float64 results are the same bits
    only for the same target, as the vector instructions decide the rounding (jit.py)."""
    try:
        import llvmlite.binding

        return llvmlite.binding.get_host_cpu_name()
    except (ImportError, RuntimeError):
        return "unknown"


def git_commit() -> str:
    """HEAD of the repository, with '-dirty' when tracked files have uncommitted changes."""
    try:
        run = lambda *a: subprocess.run(  # noqa: E731
            ["git", *a], cwd=REPO, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
        head = run("rev-parse", "HEAD")
        dirty = run("status", "--porcelain", "--untracked-files=no")
        return head + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def environment() -> dict:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "python": sys.version.split()[0],
        "packages": versions,
        "platform": platform.platform(),
        "cpu": cpu_model(),
        "llvm_cpu": llvm_cpu(),
        "cpu_count": os.cpu_count(),
        "git_commit": git_commit(),
    }
