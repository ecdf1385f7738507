//! What `doctor` found: each check's status, detail and fix, and how they are printed
//! (lines for people, or `--json`).

use std::io::Write;

use serde_json::json;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Status {
    Ok,
    Warning,
    Failed,
}

impl Status {
    pub(super) fn name(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Warning => "warning",
            Self::Failed => "failed",
        }
    }
}

pub(super) struct Check {
    pub(super) name: &'static str,
    pub(super) status: Status,
    pub(super) detail: String,
    pub(super) fix: Option<String>,
}

#[derive(Default)]
pub(super) struct Report(pub(super) Vec<Check>);

impl Report {
    /// Whether every check is ok: a warning, as a failure, makes `doctor` exit 1.
    pub(super) fn ok(&self) -> bool {
        self.0.iter().all(|c| c.status == Status::Ok)
    }

    pub(super) fn add(&mut self, name: &'static str, status: Status, detail: impl Into<String>) {
        self.0.push(Check {
            name,
            status,
            detail: detail.into(),
            fix: None,
        });
    }

    pub(super) fn fix(
        &mut self,
        name: &'static str,
        status: Status,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) {
        self.0.push(Check {
            name,
            status,
            detail: detail.into(),
            fix: Some(fix.into()),
        });
    }
}

pub(super) fn print(report: &Report, as_json: bool) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    if as_json {
        let checks: Vec<_> = report
            .0
            .iter()
            .map(|c| json!({"check": c.name, "status": c.status.name(), "detail": c.detail, "fix": c.fix}))
            .collect();
        let ok = report.ok();
        serde_json::to_writer_pretty(&mut out, &json!({"ok": ok, "checks": checks}))?;
        writeln!(out)?;
    } else {
        for check in &report.0 {
            let tag = format!("[{}]", check.status.name());
            writeln!(out, "{tag:<10}{:<11}{}", check.name, check.detail)?;
            if let Some(fix) = &check.fix {
                writeln!(out, "{:<21}fix: {fix}", "")?;
            }
        }
    }
    out.flush()?;
    Ok(())
}
