//! `nu_plugin_backstop`: backstop's decision inside nushell, as a record.
//!
//! Register it once, then ask about any line without running it:
//!
//! ```nu
//! plugin add ~/.cargo/bin/nu_plugin_backstop
//! plugin use backstop
//! "rm -rf ~/data" | backstop check      # => {decision: deny, rules: [...], targets: [...], ...}
//! backstop check --shell bash 'sudo rm -rf ~/data' | get decision
//! ```
//!
//! The command runs the `backstop` binary (`backstop check --json`), so a decision
//! inside nu is exactly the one the shell hook makes, with every policy layer and
//! backup manifest in force. The plugin only reports: approving a line is done by
//! `backstop hook` at the terminal, which a plugin cannot read.
//!
//! The logic is in [`backstop`] (find the binary, run it, turn its JSON into nu
//! values); [`check`] is the nu glue.
//!
//! ```
//! use nu_plugin_backstop::backstop::json_to_value;
//! use nu_protocol::{Span, Value};
//!
//! let json = serde_json::json!({ "decision": "allow", "rules": [] });
//! let value = json_to_value(&json, Span::unknown());
//! let record = value.as_record().unwrap();
//! assert_eq!(record.get("decision"), Some(&Value::string("allow", Span::unknown())));
//! ```

pub mod backstop;
pub mod check;

use nu_plugin::{Plugin, PluginCommand};

/// The plugin nushell talks to; its one command is [`check::Check`].
#[derive(Debug)]
pub struct BackstopPlugin;

impl Plugin for BackstopPlugin {
    fn version(&self) -> String {
        env!("CARGO_PKG_VERSION").into()
    }

    fn commands(&self) -> Vec<Box<dyn PluginCommand<Plugin = Self>>> {
        vec![Box::new(check::Check)]
    }
}
