//! Linux and other Unix desktops: the freedesktop Secret Service over D-Bus (pure Rust,
//! via zbus). The probe asks the bus and never waits for a service to be activated
//! unless allowed, and never triggers an unlock prompt.

use std::collections::HashMap;
use std::sync::Arc;

use keyring_core::api::CredentialStore;
use zbus::blocking::{Connection, Proxy, fdo::DBusProxy};
use zbus::names::BusName;
use zbus::zvariant::OwnedObjectPath;

use super::Probe;

pub const NAME: &str = "Secret Service";
pub const LOCKED: &str = "the Secret Service's default collection is locked";
pub const UNLOCK_HINT: &str = "Unlock it: `wandb-cred unlock` asks for its password at this terminal (GNOME Keyring; works over SSH), or use your keyring manager (GNOME: Passwords and Keys, `seahorse`; KDE: KWalletManager), or log out of the desktop and in again; or keep keys without the keychain: in the encrypted store (`wandb-cred config backend encrypted-file`, then `wandb-cred unlock`) or, until the machine restarts, the kernel keyring (`--backend kernel-keyring`)";

/// How `wandb-cred unlock` unlocks: with a password it asks for.
pub const UNLOCK_PROGRAM: Option<&[&str]> = None;

const SECRETS: &str = "org.freedesktop.secrets";

pub fn probe(may_start: bool) -> Probe {
    match look(may_start) {
        Ok(probe) => probe,
        Err(e) => Probe::Missing(format!("cannot talk to the Secret Service: {e}")),
    }
}

fn look(may_start: bool) -> zbus::Result<Probe> {
    let conn = match Connection::session() {
        Ok(conn) => conn,
        Err(e) => {
            // The bus library's own words (a socket path, an errno) help no one here.
            tracing::debug!(error = %e, "no D-Bus session bus");
            return Ok(Probe::Missing(
                "no desktop keyring session (no D-Bus session bus)".to_owned(),
            ));
        }
    };
    let bus = DBusProxy::new(&conn)?;
    let name = BusName::try_from(SECRETS)?;
    if !bus.name_has_owner(name.clone())? {
        let activatable = bus
            .list_activatable_names()?
            .iter()
            .any(|n| n.as_str() == SECRETS);
        if !activatable {
            return Ok(Probe::Missing(
                "no Secret Service provider on the session bus".to_owned(),
            ));
        }
        if !may_start {
            return Ok(Probe::Missing(
                "the Secret Service is not running (it can be started on demand: set WANDB_CRED_BACKEND=keychain)"
                    .to_owned(),
            ));
        }
    }
    let service = service(&conn)?;
    let default: OwnedObjectPath = service.call("ReadAlias", &("default",))?;
    if default.as_str() == "/" {
        return Ok(Probe::Missing(
            "the Secret Service has no default collection".to_owned(),
        ));
    }
    let collection = Proxy::new(
        &conn,
        SECRETS,
        default.as_str(),
        "org.freedesktop.Secret.Collection",
    )?;
    let locked: bool = collection.get_property("Locked")?;
    Ok(if locked {
        Probe::Locked(format!("{LOCKED}. {UNLOCK_HINT}"))
    } else {
        Probe::Ready
    })
}

/// The Secret Service's own object, on `conn`.
fn service(conn: &Connection) -> zbus::Result<Proxy<'static>> {
    Proxy::new(
        conn,
        SECRETS,
        "/org/freedesktop/secrets",
        "org.freedesktop.Secret.Service",
    )
}

pub fn open() -> keyring_core::Result<Arc<CredentialStore>> {
    let store: Arc<CredentialStore> = zbus_secret_service_keyring_store::Store::new()?;
    Ok(store)
}

pub fn build_entry(
    store: &Arc<CredentialStore>,
    account: &str,
) -> keyring_core::Result<keyring_core::Entry> {
    let label = format!("W&B API key for {account}");
    let modifiers = HashMap::from([("label", label.as_str())]);
    store.build(super::SERVICE, account, Some(&modifiers))
}

/// The accounts of this program's items: this store searches by service.
pub use super::accounts_by_service as accounts;

/// Calls `changed` whenever the Secret Service signals that a collection or item was
/// locked, or a collection removed, from a thread of its own, for as long as the bus
/// lasts (our own writes, which signal too, are not a reason). Whether the watch could be
/// set up.
pub fn watch(changed: Box<dyn Fn() + Send>) -> bool {
    let watching = || -> zbus::Result<zbus::blocking::MessageIterator> {
        let conn = Connection::session()?;
        let rule = zbus::MatchRule::builder()
            .msg_type(zbus::message::Type::Signal)
            .sender(SECRETS)?
            .build();
        zbus::blocking::MessageIterator::for_match_rule(rule, &conn, Some(64))
    };
    let messages = match watching() {
        Ok(messages) => messages,
        Err(e) => {
            tracing::info!(error = %e, "cannot watch the Secret Service for locking");
            return false;
        }
    };
    std::thread::Builder::new()
        .name("keychain-watch".to_owned())
        .spawn(move || {
            for message in messages.flatten() {
                if locks(&message) {
                    changed();
                }
            }
        })
        .is_ok()
}

/// A `PropertiesChanged` that sets `Locked` to true, or a `CollectionDeleted`.
fn locks(message: &zbus::Message) -> bool {
    let header = message.header();
    match header.member().map(|m| m.as_str()) {
        Some("CollectionDeleted") => true,
        Some("PropertiesChanged") => message
            .body()
            .deserialize::<(
                String,
                HashMap<String, zbus::zvariant::OwnedValue>,
                Vec<String>,
            )>()
            .ok()
            .and_then(|(_, changed, _)| {
                changed
                    .get("Locked")
                    .map(|v| bool::try_from(v).unwrap_or(false))
            })
            .unwrap_or(false),
        _ => false,
    }
}

/// Unlocks the default collection with its password, through GNOME Keyring's
/// `UnlockWithMasterPassword` (the call its own unlock prompt makes), on a session of the
/// `plain` algorithm: the password travels only on the private session bus. A provider
/// without that call (KWallet, KeePassXC) is named as such.
pub fn unlock(password: &[u8]) -> Result<(), String> {
    let call = || -> zbus::Result<()> {
        let conn = Connection::session()?;
        let service = service(&conn)?;
        let (_, session): (zbus::zvariant::OwnedValue, OwnedObjectPath) =
            service.call("OpenSession", &("plain", zbus::zvariant::Value::from("")))?;
        let default: OwnedObjectPath = service.call("ReadAlias", &("default",))?;
        let internal = Proxy::new(
            &conn,
            SECRETS,
            "/org/freedesktop/secrets",
            "org.gnome.keyring.InternalUnsupportedGuiltRiddenInterface",
        )?;
        let secret = (&session, &[] as &[u8], password, "text/plain");
        let unlocked: zbus::Result<()> =
            internal.call("UnlockWithMasterPassword", &(&default, secret));
        let closed = Proxy::new(
            &conn,
            SECRETS,
            session.as_str(),
            "org.freedesktop.Secret.Session",
        )
        .and_then(|s| s.call::<_, _, ()>("Close", &()));
        unlocked?;
        closed
    };
    call().map_err(|e| match &e {
        zbus::Error::MethodError(name, _, _)
            if matches!(
                name.as_str(),
                "org.freedesktop.DBus.Error.UnknownMethod"
                    | "org.freedesktop.DBus.Error.UnknownInterface"
                    | "org.freedesktop.DBus.Error.UnknownObject"
            ) =>
        {
            "this Secret Service offers no unlock with a password (GNOME Keyring does); unlock it in its own window".to_owned()
        }
        zbus::Error::MethodError(_, Some(message), _) => message.clone(),
        _ => e.to_string(),
    })
}
