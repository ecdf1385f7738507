"""wandb-cred's hook: the first real ``import wandb`` gets the key wandb-cred keeps.

Installed into one Python environment by ``wandb-cred setup-python`` (removed by
``wandb-cred setup-python --unset``), and started by the ``wandb_cred_hook.pth`` file
beside it (``wandb_cred_hook.start`` on Python 3.15+, PEP 829). At start-up it only puts
a finder for the name ``wandb`` on ``sys.meta_path``; asking whether wandb exists
(``importlib.util.find_spec("wandb")``) runs nothing. When wandb is imported and neither
``WANDB_API_KEY`` nor ``WANDB_IDENTITY_TOKEN_FILE`` is set, it runs the wandb-cred
recorded below once (``get --env``: standard input closed, bounded in time) and sets the
variables ``wandb-cred exec`` sets. No key, or no wandb-cred: nothing happens. A failure:
one line on standard error. It never raises and never prompts.
``WANDB_CRED_NO_HOOK=1`` turns it off for one run.
"""

from __future__ import annotations

import os
import sys

# `typing` costs milliseconds to import, at every start-up: type checkers alone read this.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any
    from importlib.machinery import ModuleSpec
    from types import ModuleType

# Installed by wandb-cred setup-python
WANDB_CRED: str = "@WANDB_CRED@"
"""The absolute path of the wandb-cred that installed this hook: the only one it runs."""

OPT_OUT = "WANDB_CRED_NO_HOOK"
TIMEOUT_SECONDS = 30.0
"""Longer than wandb-cred's own keychain bound (10 s), so that its message is the one seen."""

VARIABLES = ("WANDB_API_KEY", "WANDB_BASE_URL")


class _Finder:
    """Finds ``wandb`` as the rest of ``sys.meta_path`` would, with a loader that
    provides the key just before wandb's own code runs."""

    wandb_cred_hook = True

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None = None,
        target: ModuleType | None = None,
    ) -> ModuleSpec | None:
        if fullname != "wandb":
            return None
        for finder in sys.meta_path:
            find = getattr(finder, "find_spec", None)
            if getattr(finder, "wandb_cred_hook", False) or find is None:
                continue
            spec: ModuleSpec | None = find(fullname, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    # A loader by duck typing: subclassing importlib.abc.Loader would
                    # import importlib.abc at every start-up.
                    spec.loader = _Loader(spec.loader)  # type: ignore[assignment]
                return spec
        return None


class _Loader:
    """wandb's own loader, which first sets the key (once, on the real import)."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        create = getattr(self._inner, "create_module", None)
        return create(spec) if create is not None else None

    def exec_module(self, module: ModuleType) -> None:
        # From here on wandb sees only its own loader, and no finder of ours.
        module.__loader__ = self._inner
        if module.__spec__ is not None:
            module.__spec__.loader = self._inner
        uninstall()
        provide_key()
        self._inner.exec_module(module)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def install() -> None:
    """Puts the finder first on ``sys.meta_path``, once (a venv may process ``.pth``
    files twice: CPython issue 75723)."""
    if not any(getattr(f, "wandb_cred_hook", False) for f in sys.meta_path):
        sys.meta_path.insert(0, _Finder())


def uninstall() -> None:
    sys.meta_path[:] = [f for f in sys.meta_path if not getattr(f, "wandb_cred_hook", False)]


def _say(message: str) -> None:
    try:
        sys.stderr.write(f"{message} (the W&B SDK goes on without wandb-cred; {OPT_OUT}=1 skips this)\n")
    except Exception:
        pass


def _replaceable(program: str) -> str | None:
    """Why another user could have put their own program at ``program``, if one could:
    it, or a folder above it (as written or with links resolved), belongs to someone else
    than this user or root, the program is writable by its group or others, or a folder
    above it is writable by all without the sticky bit. POSIX only."""
    if os.name != "posix":
        return None
    me = os.getuid()
    try:
        st = os.stat(program)
    except OSError:
        return None  # gone: nothing to run
    if st.st_uid not in (0, me):
        return f"it belongs to uid {st.st_uid}"
    if st.st_mode & 0o022:
        return f"its group or others can change it (mode {st.st_mode & 0o7777:04o})"
    for start in (program, os.path.realpath(program)):
        folder = os.path.dirname(start)
        while True:
            try:
                st = os.stat(folder)
            except OSError:
                return f"{folder} cannot be read"
            if st.st_uid not in (0, me):
                return f"{folder} belongs to uid {st.st_uid}"
            if st.st_mode & 0o002 and not st.st_mode & 0o1000:
                return f"anyone can write to {folder}"
            parent = os.path.dirname(folder)
            if parent == folder:
                break
            folder = parent
    return None


def provide_key() -> None:
    """Sets the key from wandb-cred unless the environment already names one."""
    env = os.environ
    if env.get(OPT_OUT, "") not in ("", "0") or env.get("WANDB_API_KEY") or env.get("WANDB_IDENTITY_TOKEN_FILE"):
        return
    try:
        why = _replaceable(WANDB_CRED)
        if why is not None:
            _say(
                f"wandb-cred: not running {WANDB_CRED}: another user could have replaced it ({why}); "
                "run `wandb-cred setup-python` again with a wandb-cred only you can change"
            )
            return
        import subprocess

        # It runs from its own folder (checked above), never this process's: nothing
        # there is read as code or configuration. The folder whose settings the SDK
        # reads (WANDB_DIR, else this one) is named to it instead.
        workspace = os.path.abspath(os.path.expanduser(env.get("WANDB_DIR") or os.getcwd()))
        try:
            done = subprocess.run(
                [WANDB_CRED, "get", "--env"],
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=TIMEOUT_SECONDS,
                check=False,
                cwd=os.path.dirname(os.path.realpath(WANDB_CRED)),
                env={**env, "WANDB_DIR": workspace},
            )
        except OSError:
            return  # wandb-cred is gone: the SDK behaves as without the hook
        except subprocess.TimeoutExpired:
            _say(f"wandb-cred: {WANDB_CRED} did not answer within {TIMEOUT_SECONDS:g} s")
            return
        if done.returncode != 0:
            lines = done.stderr.decode("utf-8", "replace").strip().splitlines()
            _say(lines[-1] if lines else f"wandb-cred: {WANDB_CRED} failed (exit status {done.returncode})")
            return
        for said in done.stderr.decode("utf-8", "replace").splitlines():
            if said.startswith("wandb-cred: warning: "):
                sys.stderr.write(said + "\n")  # e.g. a settings file that was ignored
        for line in done.stdout.decode("utf-8").splitlines():
            name, sep, value = line.partition("=")
            if sep and name in VARIABLES and value and not env.get(name):
                env[name] = value
    except Exception as error:  # never break the user's import
        _say(f"wandb-cred: the hook failed: {type(error).__name__}")
