//! The host side of the WIT contract: the one `bindgen!` of the host.
//!
//! `http.send` is async (it awaits the outbound request); the exports are
//! called asynchronously so that epoch interruption can yield a busy plugin
//! back to the executor instead of blocking a worker thread.

mod generated {
    #![expect(
        missing_docs,
        reason = "generated from wit/plugin.wit, whose items are documented there"
    )]

    wasmtime::component::bindgen!({
        path: "../wit",
        world: "preflight:plugin/plugin@0.1.0",
        imports: {
            "preflight:plugin/http.send": async,
            // Trappable so that a plugin flooding the log is stopped.
            "preflight:plugin/log.log": trappable,
        },
        exports: { default: async },
    });
}

pub use generated::exports::preflight::plugin::validator as wit_validator;
pub use generated::preflight::plugin::{http as wit_http, log as wit_log, types as wit_types};
pub use generated::{Plugin, PluginPre};
