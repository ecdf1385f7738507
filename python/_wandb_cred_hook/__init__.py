"""wandb-cred's hook: the W&B SDK gets, for each server it talks to, the key wandb-cred
keeps for that server, or none.

Installed into one Python environment by ``wandb-cred setup-python`` (removed by
``wandb-cred setup-python --unset``), and started by the ``wandb_cred_hook.pth`` file
beside it (``wandb_cred_hook.start`` on Python 3.15+, PEP 829). At start-up it only puts
a finder for the name ``wandb`` on ``sys.meta_path``; asking whether wandb exists
(``importlib.util.find_spec("wandb")``) runs nothing. When wandb is imported, it wraps
the one function through which the SDK (0.24.1 and later) reads a stored key for a
server, ``wandb.sdk.lib.wbauth.wbnetrc.read_netrc_auth_with_source``: asked for server B,
it runs the wandb-cred recorded below (``get --env --host B``: standard input closed,
bounded in time, once per server and process) and answers with wandb-cred's key for B,
else with what the SDK finds by itself. Nothing goes into ``os.environ``, so child
processes inherit no key. ``WANDB_API_KEY`` or ``WANDB_IDENTITY_TOKEN_FILE`` set: the SDK
uses them before it asks. An older SDK, without that function: the hook does nothing
(``wandb-cred doctor --python`` says so). A failure: one line on standard error. It
never raises and never prompts. ``WANDB_CRED_NO_HOOK=1`` turns it off for one run.
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

OLDEST_SDK = "0.24.1"
"""The first W&B SDK with ``wandb.sdk.lib.wbauth.wbnetrc``, which the hook wraps."""

_keys: dict[str, str | None] = {}
"""wandb-cred's answer for each server asked about in this process."""


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
        self._inner.exec_module(module)
        wrap_sdk()

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


def wrap_sdk() -> bool:
    """Wraps the SDK's reader of stored keys (once); whether the SDK has one."""
    try:
        from wandb.sdk.lib.wbauth import auth, wbnetrc  # type: ignore[import-not-found]
    except Exception:
        return False  # an SDK before 0.24.1
    original = wbnetrc.read_netrc_auth_with_source
    if getattr(original, "wandb_cred_hook", False):
        return True

    def read_netrc_auth_with_source(*, host: Any) -> Any:
        key = key_for(str(getattr(host, "url", host)))
        if key is not None:
            return auth.AuthWithSource(auth=auth.AuthApiKey(host=host, api_key=key), source="wandb-cred")
        return original(host=host)

    read_netrc_auth_with_source.wandb_cred_hook = True  # type: ignore[attr-defined]
    wbnetrc.read_netrc_auth_with_source = read_netrc_auth_with_source
    return True


def _gone(error: OSError) -> str:
    """What to say when the recorded wandb-cred cannot be run (uninstalled, moved)."""
    here = os.path.dirname(os.path.abspath(__file__))
    site = os.path.dirname(here)
    files = " ".join(
        repr(os.path.join(site, name)) for name in ("wandb_cred_hook.pth", "wandb_cred_hook.start")
    )
    return (
        f"wandb-cred: cannot run {WANDB_CRED} ({error.strerror or error}): reinstall wandb-cred and run "
        f"`wandb-cred setup-python` again, or remove this hook: rm -r {here!r} {files}"
    )


def key_for(url: str) -> str | None:
    """wandb-cred's key for the server ``url`` (asked once per process), or None."""
    if os.environ.get(OPT_OUT, "") not in ("", "0"):
        return None
    if url not in _keys:
        _keys[url] = _ask(url)
    return _keys[url]


def _ask(url: str) -> str | None:
    try:
        why = _replaceable(WANDB_CRED)
        if why is not None:
            _say(
                f"wandb-cred: not running {WANDB_CRED}: another user could have replaced it ({why}); "
                "run `wandb-cred setup-python` again with a wandb-cred only you can change"
            )
            return None
        import subprocess

        # It runs from its own folder (checked above), never this process's: nothing
        # there is read as code or configuration. The folder whose settings the SDK
        # reads (WANDB_DIR, else this one) is named to it instead.
        env = os.environ
        workspace = os.path.abspath(os.path.expanduser(env.get("WANDB_DIR") or os.getcwd()))
        try:
            done = subprocess.run(
                [WANDB_CRED, "get", "--env", "--host", url],
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=TIMEOUT_SECONDS,
                check=False,
                cwd=os.path.dirname(os.path.realpath(WANDB_CRED)),
                env={**env, "WANDB_DIR": workspace},
            )
        except OSError as error:
            _say(_gone(error))
            return None
        except subprocess.TimeoutExpired:
            _say(f"wandb-cred: {WANDB_CRED} did not answer within {TIMEOUT_SECONDS:g} s")
            return None
        if done.returncode != 0:
            lines = done.stderr.decode("utf-8", "replace").strip().splitlines()
            _say(lines[-1] if lines else f"wandb-cred: {WANDB_CRED} failed (exit status {done.returncode})")
            return None
        for said in done.stderr.decode("utf-8", "replace").splitlines():
            if said.startswith("wandb-cred: warning: "):
                sys.stderr.write(said + "\n")  # e.g. a settings file that was ignored
        for line in done.stdout.decode("utf-8").splitlines():
            name, sep, value = line.partition("=")
            if sep and name == "WANDB_API_KEY" and value:
                return value
        return None
    except Exception as error:  # never break the user's program
        _say(f"wandb-cred: the hook failed: {type(error).__name__}")
        return None
