//! `backstop check`: the nu command, glue over [`crate::backstop`].

use std::path::PathBuf;

use nu_plugin::{EngineInterface, EvaluatedCall, SimplePluginCommand};
use nu_protocol::{Category, Example, LabeledError, Signature, SyntaxShape, Type, Value};

use crate::backstop::{self, Request};
use crate::BackstopPlugin;

/// `backstop check [LINE]`, or a line piped in.
#[derive(Debug)]
pub struct Check;

impl SimplePluginCommand for Check {
    type Plugin = BackstopPlugin;

    fn name(&self) -> &str {
        "backstop check"
    }

    fn description(&self) -> &str {
        "Decide a command line without running it: a record of the decision (allow, ask, deny), the rules, the targets with their backup status, the reason and the remedy."
    }

    fn extra_description(&self) -> &str {
        "Runs `backstop check --json`, found beside this plugin or in an absolute $env.PATH directory, in the current directory and environment. Approving an `ask` happens at the terminal through `backstop hook`, never here."
    }

    fn signature(&self) -> Signature {
        Signature::build(SimplePluginCommand::name(self))
            .input_output_types(vec![
                (Type::String, Type::record()),
                (Type::Nothing, Type::record()),
            ])
            .optional(
                "line",
                SyntaxShape::String,
                "The command line (or pipe it in).",
            )
            .named(
                "shell",
                SyntaxShape::String,
                "The shell whose rules the line follows: nu (default), bash, zsh, fish, powershell, cmd.",
                Some('s'),
            )
            .category(Category::Custom("backstop".into()))
    }

    fn search_terms(&self) -> Vec<&str> {
        vec!["rm", "destructive", "backup", "policy", "safety"]
    }

    fn examples(&self) -> Vec<Example<'_>> {
        vec![
            Example {
                example: r#""rm -rf ~/data" | backstop check"#,
                description: "Would backstop let this line run?",
                result: None,
            },
            Example {
                example: r#"backstop check --shell bash 'sudo rm -rf ~/data' | get remedy"#,
                description: "What to do before a bash line may run.",
                result: None,
            },
        ]
    }

    fn run(
        &self,
        _plugin: &BackstopPlugin,
        engine: &EngineInterface,
        call: &EvaluatedCall,
        input: &Value,
    ) -> Result<Value, LabeledError> {
        let line = match (call.opt::<String>(0)?, input) {
            (Some(_), Value::String { .. }) => {
                return Err(LabeledError::new("two lines to check").with_label(
                    "give the line as an argument or pipe it in, not both",
                    call.head,
                ))
            }
            (Some(line), _) => line,
            (None, Value::String { val, .. }) => val.clone(),
            (None, _) => {
                return Err(LabeledError::new("no line to check")
                    .with_label("give the line as an argument or pipe it in", call.head))
            }
        };
        let shell = call
            .get_flag::<String>("shell")?
            .unwrap_or_else(|| "nu".into());
        let env = engine.get_env_vars()?;
        let path = env
            .get("PATH")
            .or_else(|| env.get("Path"))
            .map(|p| backstop::env_for_child([("PATH".to_string(), p.clone())]))
            .and_then(|v| v.into_iter().next().map(|(_, path)| path));
        let request = Request {
            line,
            shell,
            cwd: PathBuf::from(engine.get_current_dir()?),
            env: backstop::env_for_child(env),
        };
        let own = std::env::current_exe().ok();
        let bin = backstop::find_binary(own.as_deref(), path.as_deref())
            .ok_or_else(|| error(backstop::CheckError::NotFound, call))?;
        let json = backstop::check(&bin, &request).map_err(|e| error(e, call))?;
        Ok(backstop::json_to_value(&json, call.head))
    }
}

fn error(e: backstop::CheckError, call: &EvaluatedCall) -> LabeledError {
    LabeledError::new(e.to_string()).with_label("backstop could not decide this line", call.head)
}
