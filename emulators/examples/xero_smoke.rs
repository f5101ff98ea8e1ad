//! Temporary smoke-test runner.
use preflight_emulators::xero::{Scenario, XeroConfig, XeroEmulator};
#[tokio::main]
async fn main() {
    let scenarios: Vec<Scenario> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("scenario"))
        .collect();
    let config = XeroConfig {
        scenarios,
        slow_delay: std::time::Duration::from_secs(2),
        ..XeroConfig::default()
    };
    let emu = XeroEmulator::start(config, "127.0.0.1:4099".parse().expect("addr"))
        .await
        .expect("start");
    println!("{}", emu.url());
    tokio::time::sleep(std::time::Duration::from_secs(120)).await;
    println!("requests: {}", emu.requests().len());
    emu.shutdown().await;
}
