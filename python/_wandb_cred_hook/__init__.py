"""wandb-cred's hook: the W&B SDK gets, for each server it talks to, the key wandb-cred
keeps for that server, or none; and a key the SDK would write to netrc goes to
wandb-cred instead.

Installed into one Python environment by ``wandb-cred setup-python`` (removed by
``wandb-cred setup-python --unset``), and started by the ``wandb_cred_hook.pth`` file
beside it (``wandb_cred_hook.start`` on Python 3.15+, PEP 829). At start-up it only puts
a finder on ``sys.meta_path``; asking whether wandb exists
(``importlib.util.find_spec("wandb")``) runs nothing. When the SDK (0.24.1 and later)
loads ``wandb.sdk.lib.wbauth.wbnetrc``, the hook replaces two of its functions before
any other module binds them:

- ``read_netrc_auth_with_source``, through which the SDK reads a stored key: asked for
  server B, it runs the wandb-cred recorded below (``get --env --host B``: standard
  input closed, bounded in time, once per server and process) and answers with
  wandb-cred's key for B, else with what the SDK finds by itself. When netrc holds
  another key for B, it says so once, with the command that adopts it.
- ``write_netrc_auth``, through which every ``wandb login``, ``wandb.login(key=...)``
  and key prompt stores a key: the key goes to ``wandb-cred login --from-sdk`` on
  standard input, never into netrc. When it cannot be kept, this process still uses it,
  and one line says why and how to keep it.

Nothing goes into ``os.environ``, so child processes inherit no key. An older SDK,
without that module: the hook does nothing (``wandb-cred doctor --python`` says so). A
failure: one line on standard error. It never raises into the SDK and never prompts.
``WANDB_CRED_NO_HOOK=1`` turns it off for one run (the SDK then writes netrc itself).
"""

from __future__ import annotations

import os
import sys

# `typing` costs milliseconds to import, at every start-up: type checkers alone read this.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import subprocess
    from collections.abc import Callable, Sequence
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

WBNETRC = "wandb.sdk.lib.wbauth.wbnetrc"
"""The SDK module whose reader and writer of stored keys the hook replaces."""

_keys: dict[str, str | None] = {}
"""wandb-cred's answer for each server asked about in this process, and each key the
SDK stored in it (kept or not)."""

_said: set[str] = set()
"""The once-per-process lines already said (identity token, a different netrc key)."""


class _Finder:
    """Finds ``wandb`` and its ``wbnetrc`` module as the rest of ``sys.meta_path``
    would, with a loader that wraps the SDK just after that module's own code runs."""

    wandb_cred_hook = True

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None = None,
        target: ModuleType | None = None,
    ) -> ModuleSpec | None:
        if fullname != "wandb" and fullname != WBNETRC:
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
    """The module's own loader, which then wraps the SDK (once, on the real import)."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        create = getattr(self._inner, "create_module", None)
        return create(spec) if create is not None else None

    def exec_module(self, module: ModuleType) -> None:
        # From here on the SDK sees only its own loader.
        module.__loader__ = self._inner
        if module.__spec__ is not None:
            module.__spec__.loader = self._inner
        self._inner.exec_module(module)
        try:
            if module.__name__ == WBNETRC:
                # Before wbauth's `from .wbnetrc import ...` binds the originals.
                _wrap(module)
                uninstall()
            else:
                wrap_sdk()
        except Exception as error:  # never break the import of wandb
            uninstall()
            _say(f"wandb-cred: the hook could not wrap the W&B SDK: {type(error).__name__}")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def install() -> None:
    """Puts the finder first on ``sys.meta_path``, once (a venv may process ``.pth``
    files twice: CPython issue 75723)."""
    if not any(getattr(f, "wandb_cred_hook", False) for f in sys.meta_path):
        sys.meta_path.insert(0, _Finder())


def uninstall() -> None:
    sys.meta_path[:] = [f for f in sys.meta_path if not getattr(f, "wandb_cred_hook", False)]


def _write(message: str) -> None:
    try:
        sys.stderr.write(message + "\n")
    except Exception:
        pass


def _say(message: str) -> None:
    _write(f"{message} (the W&B SDK goes on without wandb-cred; {OPT_OUT}=1 skips this)")


def _once(topic: str, message: str) -> None:
    if topic not in _said:
        _said.add(topic)
        _write(message)


def _opted_out() -> bool:
    return os.environ.get(OPT_OUT, "") not in ("", "0")


def _masked(key: str) -> str:
    """The key as wandb-cred shows it: its public prefix and its last four characters."""
    if key.startswith("wandb_v1_"):
        prefix = "wandb_v1_"
    elif "-" in key:
        prefix = key.split("-", 1)[0] + "-"
    else:
        prefix = ""
    return f"{prefix}****{key[-4:]}"


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
    """Wraps the SDK's reader and writer of stored keys (once, wherever the SDK binds
    them); whether the SDK has them."""
    try:
        from wandb.sdk.lib import wbauth  # type: ignore[import-not-found]
        from wandb.sdk.lib.wbauth import wbnetrc  # type: ignore[import-not-found]
    except Exception:
        uninstall()
        return False  # an SDK before 0.24.1
    _wrap(wbnetrc)
    uninstall()
    # The package re-exports the writer; bound before the hook saw the module (an SDK
    # imported before the hook was installed), it still names the original.
    ours = getattr(wbnetrc, "write_netrc_auth", None)
    if getattr(ours, "wandb_cred_hook", False) and hasattr(wbauth, "write_netrc_auth"):
        wbauth.write_netrc_auth = ours
    return True


def _wrap(wbnetrc: ModuleType) -> None:
    """Replaces the module's reader and writer of stored keys, once."""
    original_read: Callable[..., Any] | None = getattr(wbnetrc, "read_netrc_auth_with_source", None)
    original_write: Callable[..., Any] | None = getattr(wbnetrc, "write_netrc_auth", None)
    if original_read is None or getattr(original_read, "wandb_cred_hook", False):
        return

    def read_netrc_auth_with_source(*, host: Any) -> Any:
        url = str(getattr(host, "url", host))
        key = key_for(url)
        if key is None:
            return original_read(host=host)
        _compare_with_netrc(url, key, lambda: original_read(host=host))
        from wandb.sdk.lib.wbauth import auth

        return auth.AuthWithSource(auth=auth.AuthApiKey(host=host, api_key=key), source="wandb-cred")

    read_netrc_auth_with_source.wandb_cred_hook = True  # type: ignore[attr-defined]
    wbnetrc.read_netrc_auth_with_source = read_netrc_auth_with_source  # type: ignore[attr-defined]
    if original_write is None:
        return

    def write_netrc_auth(*, host: str, api_key: str) -> None:
        if _opted_out():
            original_write(host=host, api_key=api_key)
            return
        keep(str(host), str(api_key))

    write_netrc_auth.wandb_cred_hook = True  # type: ignore[attr-defined]
    write_netrc_auth.__doc__ = original_write.__doc__
    wbnetrc.write_netrc_auth = write_netrc_auth  # type: ignore[attr-defined]


def _compare_with_netrc(url: str, key: str, read_netrc: Callable[[], Any]) -> None:
    """Once per server: when netrc holds another key for it (written where the hook is
    not installed), says which one is used and the command that adopts the other."""
    topic = f"netrc {url}"
    if topic in _said:
        return
    _said.add(topic)
    try:
        found = read_netrc()
        other = getattr(getattr(found, "auth", None), "api_key", None)
        if not isinstance(other, str) or other == key:
            return
        where = getattr(found, "source", None) or "netrc"
        _write(
            f"wandb-cred: {where} holds another API key for {url} ({_masked(other)}) than "
            f"wandb-cred ({_masked(key)}), which is the one used; if the netrc one is newer "
            f"(written where the hook is not installed): `wandb-cred migrate --replace --host {url}`"
        )
    except Exception:
        pass


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
    if _opted_out():
        return None
    if os.environ.get("WANDB_IDENTITY_TOKEN_FILE"):
        _once(
            "identity",
            "wandb-cred: WANDB_IDENTITY_TOKEN_FILE is set: the W&B SDK signs in with that "
            "identity token (and refuses an API key beside it), so wandb-cred gives it none",
        )
        return None
    if url not in _keys:
        _keys[url] = _ask(url)
    return _keys[url]


def _run(args: list[str], stdin: bytes | None) -> subprocess.CompletedProcess[bytes]:
    """Runs the recorded wandb-cred (never one found on PATH) from its own folder, with
    the folder whose settings the SDK reads (WANDB_DIR, else this one) named to it: no
    file of this process's folder is read as code or configuration. Raises OSError and
    subprocess.TimeoutExpired."""
    import subprocess

    env = os.environ
    workspace = os.path.abspath(os.path.expanduser(env.get("WANDB_DIR") or os.getcwd()))
    return subprocess.run(
        [WANDB_CRED, *args],
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
        capture_output=True,
        timeout=TIMEOUT_SECONDS,
        check=False,
        cwd=os.path.dirname(os.path.realpath(WANDB_CRED)),
        env={**env, "WANDB_DIR": workspace},
    )


def _ask(url: str) -> str | None:
    import subprocess

    try:
        why = _replaceable(WANDB_CRED)
        if why is not None:
            _say(
                f"wandb-cred: not running {WANDB_CRED}: another user could have replaced it ({why}); "
                "run `wandb-cred setup-python` again with a wandb-cred only you can change"
            )
            return None
        try:
            done = _run(["get", "--env", "--host", url], None)
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
                _write(said)  # e.g. a settings file that was ignored
        for line in done.stdout.decode("utf-8").splitlines():
            name, sep, value = line.partition("=")
            if sep and name == "WANDB_API_KEY" and value:
                return value
        return None
    except Exception as error:  # never break the user's program
        _say(f"wandb-cred: the hook failed: {type(error).__name__}")
        return None


def keep(url: str, key: str) -> None:
    """Stores the key the SDK would have written to netrc with wandb-cred (on standard
    input), and uses it in this process whatever happens. Says where it went, or why it
    was not kept; never raises."""
    _keys[url] = key
    import subprocess

    def not_kept(why: str) -> None:
        _write(
            f"wandb-cred: the API key for {url} was not kept ({why}); this program uses it "
            f"until it ends. To keep it: `WANDB_BASE_URL={url} wandb-cred login --relogin`"
        )

    try:
        why = _replaceable(WANDB_CRED)
        if why is not None:
            not_kept(f"another user could have replaced {WANDB_CRED}: {why}")
            return
        try:
            done = _run(["login", "--from-sdk", "--host", url], (key + "\n").encode())
        except OSError as error:
            not_kept(f"cannot run {WANDB_CRED}: {error.strerror or error}")
            return
        except subprocess.TimeoutExpired:
            not_kept(f"{WANDB_CRED} did not answer within {TIMEOUT_SECONDS:g} s")
            return
        lines = done.stderr.decode("utf-8", "replace").strip().splitlines()
        if done.returncode != 0:
            # wandb-cred says why and how to keep it, in its last line.
            if lines:
                _write(lines[-1].replace("wandb-cred: error: ", "wandb-cred: ", 1))
            else:
                not_kept(f"{WANDB_CRED} failed with exit status {done.returncode}")
            return
        for line in lines:
            _write(line)
    except Exception as error:  # never break the SDK (its prompt path does not catch)
        not_kept(f"the hook failed: {type(error).__name__}")
