//! `doctor`'s `wandb` checks: each environment whose `wandb` command the user runs
//! ([`crate::sdk_environments`]), and whether the hook keeps its key out of netrc.

use crate::cli::context::Context;
use crate::sdk_environments::{self, Verdict};

use super::report::{Report, Status};

/// One line per environment found (none when there is none).
pub(super) fn check_environments(ctx: &Context, report: &mut Report) {
    for found in sdk_environments::find(&ctx.env) {
        let python = found.python.display();
        match found.verdict() {
            Verdict::Hooked(facts) => report.add(
                "wandb",
                Status::Ok,
                format!(
                    "{}: wandb {} in {}, with the wandb-cred hook",
                    found.found_as,
                    facts.wandb.as_deref().unwrap_or("?"),
                    facts.describe()
                ),
            ),
            Verdict::Unhooked(facts) => report.fix(
                "wandb",
                Status::Warning,
                format!(
                    "{}: wandb {} in {} has no wandb-cred hook: `wandb login` there writes the key to netrc in plaintext, and its programs find no key wandb-cred keeps",
                    found.found_as,
                    facts.wandb.as_deref().unwrap_or("?"),
                    facts.describe()
                ),
                format!("`wandb-cred setup-python --python {python}`"),
            ),
            Verdict::TooOld(facts) => report.fix(
                "wandb",
                Status::Warning,
                format!(
                    "{}: wandb {} in {} is older than the wandb-cred hook serves ({}): `wandb login` there writes the key to netrc in plaintext",
                    found.found_as,
                    facts.wandb.as_deref().unwrap_or("?"),
                    facts.describe(),
                    crate::resolve::sdk::SdkVersion::OLDEST_HOOKED
                ),
                format!("`{python} -m pip install -U wandb`"),
            ),
            Verdict::NoSdk => {}
            Verdict::Unknown(e) => report.fix(
                "wandb",
                Status::Warning,
                format!("{}: cannot tell whether it has the wandb-cred hook: {e}", found.found_as),
                format!("`wandb-cred doctor --python {python}` says more"),
            ),
        }
    }
}
