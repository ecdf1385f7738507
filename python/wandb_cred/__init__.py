"""W&B API keys from wandb-cred, for Python programs and notebooks.

The key is looked up exactly as ``wandb-cred get`` does (``WANDB_API_KEY``, the
keychain, the settings files, netrc), by the ``wandb-cred`` program installed with
this package, or, where ``wandb-cred setup-python`` put it, the program its hook
records (never one found on ``PATH``). Nothing here prompts or writes a file.

In a notebook, hand the key to the SDK without writing it to ``~/.netrc``
(``wandb.login(key=...)`` would)::

    import wandb
    import wandb_cred

    run = wandb.init(settings=wandb.Settings(api_key=wandb_cred.get_key()))

``environ()`` gives the variables ``wandb-cred exec`` sets, for a subprocess::

    subprocess.run(["python", "train.py"], env={**os.environ, **wandb_cred.environ()})
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

__all__ = ["WandbCredError", "environ", "find_wandb_cred", "get_key"]

#: How long one lookup may take (a keychain waiting on an unlock prompt, say).
TIMEOUT_SECONDS = 30.0


class WandbCredError(RuntimeError):
    """wandb-cred failed; the message is what it said (never a key)."""


def _program_name() -> str:
    return "wandb-cred.exe" if sys.platform == "win32" else "wandb-cred"


def _scripts_dirs() -> list[Path]:
    """Where the installer that put this package here put its programs, most likely
    first: the scripts folder of each install scheme whose library folder is where this
    package lives (a venv, conda env, uv tool or pipx venv, ``--user``, ``--prefix``),
    then ``--target``'s ``bin``, then this interpreter's own scripts folder (an editable
    install, whose package stays in the source tree)."""
    site_dir = Path(__file__).resolve().parent.parent
    dirs = [*_scheme_scripts(site_dir), site_dir / "bin"]
    scripts = sysconfig.get_path("scripts")
    if scripts:
        dirs.append(Path(scripts))
    return list(dict.fromkeys(dirs))


def _scheme_scripts(site_dir: Path) -> list[Path]:
    """For each install scheme that would put packages in ``site_dir``, its scripts
    folder: each scheme is expanded under a stand-in base, and where its library folder
    (relative to that base) ends ``site_dir``, the same base gives its scripts."""
    stand_in = Path(os.path.abspath(os.path.join(os.sep, "wandb-cred-stand-in-base")))
    bases = ("base", "platbase", "userbase", "installed_base", "installed_platbase")
    found: list[Path] = []
    for scheme in sysconfig.get_scheme_names():
        try:
            paths = sysconfig.get_paths(scheme, vars={v: str(stand_in) for v in bases})
            scripts = Path(paths["scripts"]).relative_to(stand_in)
        except (KeyError, ValueError):
            continue
        for key in ("purelib", "platlib"):
            try:
                library = Path(paths[key]).relative_to(stand_in)
            except (KeyError, ValueError):
                continue
            depth = len(library.parts)
            tail = site_dir.parts[len(site_dir.parts) - depth :]
            if 0 < depth < len(site_dir.parts) and Path(*tail) == library:
                found.append(Path(*site_dir.parts[:-depth]) / scripts)
    return found


def _recorded_by_setup_python() -> Path | None:
    """The program ``wandb-cred setup-python`` recorded in this environment's hook (it
    also put this package here), if another user could not have replaced it."""
    try:
        import _wandb_cred_hook as hook
    except ImportError:
        return None
    program = hook.WANDB_CRED
    if not os.path.isabs(program) or hook._replaceable(program) is not None:
        return None
    path = Path(program)
    return path if path.is_file() and os.access(path, os.X_OK) else None


def find_wandb_cred() -> Path:
    """The ``wandb-cred`` program installed with this package.

    Raises ``WandbCredError`` when it is not there (the package was copied without it).
    """
    name = _program_name()
    for folder in _scripts_dirs():
        candidate = folder / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    recorded = _recorded_by_setup_python()
    if recorded is not None:
        return recorded
    looked = ", ".join(str(d) for d in _scripts_dirs())
    raise WandbCredError(
        f"the wandb-cred program installed with this package is missing (looked in {looked})"
    )


def environ(host: str | None = None, profile: str | None = None) -> dict[str, str]:
    """The variables ``wandb-cred exec`` sets: ``WANDB_API_KEY`` and ``WANDB_BASE_URL``.

    ``host`` is the W&B server URL (default: ``WANDB_BASE_URL``, the settings files,
    then the public cloud). ``profile`` names one of that server's keys (default: as
    ``wandb-cred get`` chooses: ``WANDB_CRED_PROFILE``, the project's entity, the
    server's default). Empty when no key is stored for that server. Raises
    ``WandbCredError`` when wandb-cred fails (a locked keychain, a bad URL, ...).
    """
    args = [str(find_wandb_cred()), "get", "--env"]
    if host is not None:
        args += ["--host", host]
    if profile is not None:
        args += ["--profile", profile]
    try:
        done = subprocess.run(
            args,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise WandbCredError(
            f"wandb-cred did not answer within {TIMEOUT_SECONDS:.0f} s"
        ) from None
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines()
        said = lines[-1] if lines else f"exit status {done.returncode}"
        raise WandbCredError(said.removeprefix("wandb-cred: error: "))
    found: dict[str, str] = {}
    for line in done.stdout.splitlines():
        name, sep, value = line.partition("=")
        if sep:
            found[name] = value
    return found


def get_key(host: str | None = None, profile: str | None = None) -> str | None:
    """The API key for the server, found as ``wandb-cred get`` finds it; ``None`` when
    none is stored. Never prompts. ``host`` and ``profile`` as for ``environ``."""
    return environ(host, profile).get("WANDB_API_KEY")
