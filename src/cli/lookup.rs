//! What `get`, `exec` and `push` share about a server's key: the variables a program
//! gets, and the message when there is no key (with why, when one should be there).

use super::Context;
use crate::key::ApiKey;
use crate::resolve::base_url::BaseUrl;

/// The variables a program gets: the key, and the server it is for.
pub fn variables<'a>(url: &'a BaseUrl, key: &'a ApiKey) -> [(&'static str, &'a str); 2] {
    [
        ("WANDB_API_KEY", key.expose()),
        ("WANDB_BASE_URL", url.as_str()),
    ]
}

/// `WANDB_IDENTITY_TOKEN_FILE`, when set: the W&B SDK then signs in with that identity
/// token (identity federation) and refuses an API key beside it
/// (`wbauth/authenticate.py`), so `exec` and `get --env` give it none.
pub fn identity_token_file(ctx: &Context) -> Option<&str> {
    ctx.env
        .var("WANDB_IDENTITY_TOKEN_FILE")
        .filter(|v| !v.is_empty())
}

/// What `exec` and `get --env` say when [`identity_token_file`] is set.
pub fn identity_note(file: &str, who: &str) -> String {
    format!(
        "WANDB_IDENTITY_TOKEN_FILE is set ({file}): {who} signs in to W&B with that identity token, and the W&B SDK refuses an API key beside it, so wandb-cred sets no WANDB_API_KEY"
    )
}

/// The command that logs in to `url` (its profile included, then `extra`) without
/// making it the default server, as every hint should: `login --host` would, as `wandb
/// login --host` does. For another server than the configured one, `WANDB_BASE_URL`
/// names it for that one command.
pub fn login_command(ctx: &Context, url: &BaseUrl, extra: &str) -> String {
    let profile = url
        .profile()
        .map(|p| format!(" --profile {p}"))
        .unwrap_or_default();
    if ctx.is_configured(url) {
        format!("wandb-cred login{profile}{extra}")
    } else {
        format!("WANDB_BASE_URL={url} wandb-cred login{profile}{extra}")
    }
}

/// The "no key" error: why there is none when a kernel keyring had one (the machine
/// restarted, or it is another machine's), else to log in; and a netrc quote that is
/// never closed, which hides every entry after it.
pub fn no_key(ctx: &Context, url: &BaseUrl) -> String {
    no_key_because(ctx, url, why_missing(ctx, url))
}

/// [`no_key`] with the reason already looked up.
pub fn no_key_because(ctx: &Context, url: &BaseUrl, why: Option<String>) -> String {
    let mut said = match why {
        Some(why) => format!("no API key for {} ({url}): {why}", url.netloc()),
        // For a server other than the configured one, the fix names it.
        None => format!(
            "no API key for {} ({url}); run `{}` first",
            url.netloc(),
            login_command(ctx, url, "")
        ),
    };
    if let Ok(Some(line)) = ctx.netrc().unclosed_quote() {
        said.push_str(&format!(
            " (note: {}, line {line}, opens a quote (\") that is never closed: Python's netrc, and so the W&B SDK, read everything after it as one word, so no entry after that line counts; close or remove that quote)",
            ctx.netrc_path.display()
        ));
    }
    said
}

/// Why there is no key for `url` although one was stored here (cleared by a restart,
/// another machine's, or in a keychain this session cannot reach), if one was.
pub fn why_missing(ctx: &Context, url: &BaseUrl) -> Option<String> {
    crate::store::record::why_missing(&url.account())
        .or_else(|| unreachable_keychain(ctx, url))
        .or_else(|| unchosen_encrypted_store(ctx))
}

/// When an encrypted store file is there but nothing here chooses that store (a
/// container whose volume kept `keys.age` and whose HOME, and so the configuration, is
/// new): the file, and how to open it. Never "run login", which would store elsewhere.
fn unchosen_encrypted_store(ctx: &Context) -> Option<String> {
    use crate::store::backend::BackendChoice;
    if ctx.backend_choice == BackendChoice::EncryptedFile {
        return None;
    }
    let path = crate::store::encrypted_file::default_path().filter(|p| p.is_file())?;
    Some(format!(
        "an encrypted store is at {}, and nothing here chooses it (a new HOME or configuration?): `wandb-cred config backend encrypted-file` (or WANDB_CRED_BACKEND=encrypted-file), then `wandb-cred unlock`",
        path.display()
    ))
}

/// When the record says this machine's desktop keychain holds the key but this session
/// uses another store (no desktop session: cron, ssh, `env -i`): why, and what reaches it.
fn unreachable_keychain(ctx: &Context, url: &BaseUrl) -> Option<String> {
    if !crate::store::record::in_keychain(&url.account()) {
        return None;
    }
    let backend = ctx.service().backend();
    if backend.name.as_deref() == Some(crate::service::Layer::Keychain.name()) {
        return None;
    }
    Some(format!(
        "it is in this machine's desktop keychain, which this session cannot reach ({}); run the command in the desktop session, let it reach that session's daemon (`export XDG_RUNTIME_DIR=/run/user/$(id -u)`), or start the program from a desktop shell with `wandb-cred exec`",
        backend.detail
    ))
}
