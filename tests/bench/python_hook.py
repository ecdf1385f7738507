"""What the `setup-python` hook costs: Python start-up (`python -c pass`, and the hook's
own import as `-X importtime` reports it), `import wandb` (where the hook wraps the SDK's
key reader and runs nothing), and the SDK's first key lookup for a server (where the
hook runs one `wandb-cred get --env --host URL`), and, inside a process that imported
wandb already, the SDK's first key write (where the hook runs one `wandb-cred login
--from-sdk`) and lookup, each with and without the hook.
Prints figures; asserts nothing.

    python3 tests/bench/python_hook.py WANDB_CRED SDK_PYTHON [RUNS]

WANDB_CRED: the `wandb-cred` front to install the hook for (a release build).
SDK_PYTHON: a Python with the W&B SDK; a throwaway venv sees its packages through a
`.pth` path line, so that environment is only read. Everything runs in a throwaway HOME
with a key stored in netrc (`--backend netrc`) and a daemon running, as on a laptop.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def timed(cmd: list[str], env: dict[str, str], runs: int) -> list[float]:
    seconds = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        seconds.append(time.perf_counter() - start)
    return seconds


def hook_import_us(python: str, env: dict[str, str], runs: int) -> list[float]:
    """`-X importtime`'s cumulative microseconds for the hook's module."""
    found = []
    for _ in range(runs):
        out = subprocess.run([python, "-X", "importtime", "-c", "pass"], env=env, capture_output=True, text=True, check=True)
        for line in out.stderr.splitlines():
            if line.rstrip().endswith("_wandb_cred_hook"):
                found.append(float(line.split("|")[1]))
    return found


def in_process(python: str, env: dict[str, str], statement: str, runs: int) -> list[float]:
    """Seconds one SDK call took inside a process that imported wandb already: the hook's
    own cost for a first key write or lookup (one wandb-cred run each), without the
    360 ms import around it. One process per run."""
    script = (
        "import sys, time, wandb\nfrom wandb.sdk.lib.wbauth import wbnetrc\nKEY = sys.stdin.readline().strip()\n"
        f"t = time.perf_counter()\n{statement}\nprint(time.perf_counter() - t)"
    )
    key = "wandb_v1_" + "b" * 77
    seconds = []
    for _ in range(runs):
        out = subprocess.run([python, "-c", script], env=env, input=key + "\n", capture_output=True, text=True, check=True)
        seconds.append(float(out.stdout.strip().splitlines()[-1]))
    return seconds


def show(label: str, seconds: list[float]) -> float:
    median = statistics.median(seconds)
    print(f"{label:<52} median {median * 1000:8.2f} ms   (min {min(seconds) * 1000:.2f}, n={len(seconds)})")
    return median


def main() -> None:
    wandb_cred, sdk_python = sys.argv[1], sys.argv[2]
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 40
    with tempfile.TemporaryDirectory(prefix="wandb-cred-bench.") as root:
        home = Path(root, "home")
        home.mkdir()
        env = {"PATH": os.environ["PATH"], "HOME": str(home), "XDG_RUNTIME_DIR": root, "WANDB_SILENT": "true", "WANDB_CRED_BACKEND": "netrc"}
        venv = Path(root, "venv")
        subprocess.run([sdk_python, "-m", "venv", "--without-pip", str(venv)], check=True)
        python = str(venv / "bin" / "python")
        purelib = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
        site = subprocess.check_output([python, "-c", purelib], text=True).strip()
        shared = subprocess.check_output([sdk_python, "-c", purelib], text=True).strip()
        Path(site, "zz_shared_sdk.pth").write_text(shared + "\n")
        key = "0123456789abcdef" * 2 + "01234567"
        subprocess.run([wandb_cred, "login", key], env=env, check=True, capture_output=True)
        subprocess.run([wandb_cred, "get"], env=env, check=True, capture_output=True)  # the daemon is up
        print(f"Python {sys.version.split()[0]} venv, {runs} runs each; wandb-cred {wandb_cred}")
        base = show("python -c pass, no hook", timed([python, "-c", "pass"], env, runs))
        imp_base = show("python -c 'import wandb', no hook", timed([python, "-c", "import wandb"], env, max(runs // 4, 5)))
        subprocess.run([wandb_cred, "setup-python", "--python", python], env=env, check=True, capture_output=True)
        hooked = show("python -c pass, hook installed", timed([python, "-c", "pass"], env, runs))
        us = hook_import_us(python, env, runs)
        print(f"{'the hook at start-up (-X importtime, cumulative)':<52} median {statistics.median(us) / 1000:8.3f} ms   (min {min(us) / 1000:.3f}, n={len(us)})")
        imp = show("python -c 'import wandb', hook installed", timed([python, "-c", "import wandb"], env, max(runs // 4, 5)))
        subprocess.run([wandb_cred, "setup-python", "--python", python, "--unset"], env=env, check=True, capture_output=True)
        lookup = "import wandb\nfrom wandb.sdk.lib.wbauth import wbnetrc\nwbnetrc.read_netrc_auth(host='https://api.wandb.ai')"
        look_base = show("import wandb + a key lookup, no hook (netrc)", timed([python, "-c", lookup], env, max(runs // 4, 5)))
        subprocess.run([wandb_cred, "setup-python", "--python", python], env=env, check=True, capture_output=True)
        look = show("import wandb + a key lookup, hook runs get --env", timed([python, "-c", lookup], env, max(runs // 4, 5)))
        write = "wbnetrc.write_netrc_auth(host='https://api.wandb.ai', api_key=KEY)"
        read = "wbnetrc.read_netrc_auth(host='https://api.wandb.ai')"
        few = max(runs // 4, 5)
        write_hook = show("first key write in-process, hook (login --from-sdk)", in_process(python, env, write, few))
        read_hook = show("first key lookup in-process, hook (get --env)", in_process(python, env, read, few))
        subprocess.run([wandb_cred, "setup-python", "--python", python, "--unset"], env=env, check=True, capture_output=True)
        write_sdk = show("first key write in-process, no hook (the SDK's netrc)", in_process(python, env, write, few))
        read_sdk = show("first key lookup in-process, no hook (the SDK's netrc)", in_process(python, env, read, few))
        print(f"the hook's added cost in-process (medians): write {(write_hook - write_sdk) * 1000:+.2f} ms, lookup {(read_hook - read_sdk) * 1000:+.2f} ms")
        subprocess.run([wandb_cred, "setup-python", "--python", python], env=env, check=True, capture_output=True)
        get_env = show("wandb-cred get --env --host alone (daemon running)", timed([wandb_cred, "get", "--env", "--host", "https://api.wandb.ai"], env, runs))
        print(f"start-up difference (medians): {(hooked - base) * 1000:+.2f} ms; import wandb difference: {(imp - imp_base) * 1000:+.2f} ms; first key lookup difference: {(look - look_base) * 1000:+.2f} ms (get --env alone {get_env * 1000:.2f} ms)")
        subprocess.run([wandb_cred, "stop"], env=env, capture_output=True)


if __name__ == "__main__":
    main()
