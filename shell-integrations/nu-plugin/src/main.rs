use nu_plugin::{serve_plugin, MsgPackSerializer};
use nu_plugin_backstop::BackstopPlugin;

fn main() {
    serve_plugin(&BackstopPlugin, MsgPackSerializer)
}
