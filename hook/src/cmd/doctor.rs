//! `backstop doctor`.
use std::process::ExitCode;

use anyhow::Result;

use crate::cli::DoctorArgs;

pub fn run(_a: &DoctorArgs) -> Result<ExitCode> {
    anyhow::bail!("not yet")
}
