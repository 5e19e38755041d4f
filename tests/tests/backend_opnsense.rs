//! The OPNsense driver against fake OPNsense boxes: status values, the default
//! and named firewalls, unknown names, bad keys and faults.

use pipilu_e2e::fakes::opnsense::{FirewallSeed, OpnSenseFake};
use pipilu_e2e::fakes::{Fault, Served, serve};
use skills::backends::{FirewallBackend, HaRole, Interface};
use skills::drivers::http::Endpoint;
use skills::drivers::opnsense::{Firewalls, OpnSense};

fn endpoint(s: &Served) -> Endpoint {
    Endpoint { timeout_secs: 2.0, retries: 0, ..Endpoint::new(s.url()) }
}

async fn pair() -> (OpnSenseFake, OpnSenseFake, Served, Served, Firewalls) {
    let a = OpnSenseFake::new("key-a", "secret-a", FirewallSeed::default());
    let b = OpnSenseFake::new(
        "key-b",
        "secret-b",
        FirewallSeed {
            vips: vec!["BACKUP".into(), "BACKUP".into()],
            cpu_idle: 99.0,
            states: 11_800,
            ..FirewallSeed::default()
        },
    );
    let (sa, sb) = (serve(a.router()).await, serve(b.router()).await);
    let fws = Firewalls::new(vec![
        OpnSense::new("fw-edge-1", &endpoint(&sa), "key-a", "secret-a").expect("client"),
        OpnSense::new("fw-edge-2", &endpoint(&sb), "key-b", "secret-b").expect("client"),
    ]);
    (a, b, sa, sb, fws)
}

#[tokio::test]
async fn status_of_the_default_firewall() {
    let (_a, _b, _sa, _sb, fws) = pair().await;
    assert_eq!(fws.list().await.expect("list"), ["fw-edge-1", "fw-edge-2"]);
    let s = fws.status(None).await.expect("status");
    assert_eq!(s.name, "fw-edge-1");
    assert_eq!(s.version, "OPNsense 24.7.12");
    assert!((s.cpu_percent - 12.5).abs() < 1e-6, "{}", s.cpu_percent);
    assert!((s.mem_percent - 25.0).abs() < 1e-6, "{}", s.mem_percent);
    assert_eq!((s.states_used, s.states_max, s.sessions), (12_345, 1_621_700, 12_345));
    assert_eq!(s.ha_role, HaRole::Master);
    assert_eq!(
        s.interfaces,
        [
            Interface { name: "WAN".into(), up: true, address: Some("203.0.113.2".into()) },
            Interface { name: "LAN".into(), up: true, address: Some("10.0.0.2".into()) },
            Interface { name: "opt1".into(), up: false, address: None },
        ]
    );
}

#[tokio::test]
async fn named_firewall_and_roles() {
    let (a, _b, _sa, _sb, fws) = pair().await;
    let s = fws.status(Some("FW-EDGE-2")).await.expect("status");
    assert_eq!(s.name, "fw-edge-2");
    assert_eq!(s.ha_role, HaRole::Backup);
    assert_eq!(s.states_used, 11_800);
    assert!((s.cpu_percent - 1.0).abs() < 1e-6);
    a.update(|s| s.vips.clear());
    assert_eq!(fws.status(Some("fw-edge-1")).await.expect("status").ha_role, HaRole::Standalone);
    a.update(|s| s.vips = vec!["MASTER".into(), "INIT".into()]);
    assert_eq!(fws.status(Some("fw-edge-1")).await.expect("status").ha_role, HaRole::Backup, "split is not master");
}

#[tokio::test]
async fn unknown_firewall_lists_the_known_ones() {
    let (_a, _b, _sa, _sb, fws) = pair().await;
    let e = fws.status(Some("fw-core")).await.expect_err("unknown");
    assert!(e.not_found);
    assert!(e.cause.contains("fw-core") && e.cause.contains("fw-edge-1, fw-edge-2"), "{e}");
}

#[tokio::test]
async fn bad_key_is_a_credentials_error() {
    let a = OpnSenseFake::new("key-a", "secret-a", FirewallSeed::default());
    let sa = serve(a.router()).await;
    let fws = Firewalls::new(vec![OpnSense::new("fw", &endpoint(&sa), "key-a", "wrong").expect("client")]);
    let e = fws.status(None).await.expect_err("401");
    assert_eq!(e.backend, "opnsense");
    assert!(e.cause.contains("401") && e.cause.contains("credentials"), "{e}");
}

#[tokio::test]
async fn faults_are_named() {
    let (a, _b, _sa, _sb, fws) = pair().await;
    a.faults.set(Fault::Malformed);
    let e = fws.status(None).await.expect_err("malformed");
    assert!(e.cause.contains("malformed response"), "{e}");
    a.faults.set(Fault::ServerError);
    let e = fws.status(None).await.expect_err("500");
    assert!(e.cause.contains("500"), "{e}");
    // The other box is unaffected.
    assert_eq!(fws.status(Some("fw-edge-2")).await.expect("status").name, "fw-edge-2");
}

#[tokio::test]
async fn no_firewalls_configured() {
    let e = Firewalls::new(vec![]).status(None).await.expect_err("none");
    assert!(e.cause.contains("no firewall configured"), "{e}");
}
