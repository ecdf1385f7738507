//! Tests of [`super`]: parsing server URLs as the SDK does, clouds, accounts, profiles.

#[test]
fn a_profile_is_its_own_account_and_the_default_is_the_old_one() {
    let cloud = BaseUrl::default_cloud();
    let work = cloud.clone().with_profile(Some("work")).unwrap();
    assert_eq!(work.account(), "https://api.wandb.ai#work");
    assert_ne!(work, cloud);
    assert_eq!(cloud.clone().with_profile(Some("default")).unwrap(), cloud);
    assert_eq!(
        BaseUrl::from_account("https://api.wandb.ai#work").unwrap(),
        work
    );
    assert_eq!(
        BaseUrl::from_account("https://api.wandb.ai").unwrap(),
        cloud
    );
    // The Forge name is the same account, profile and all.
    let forge = BaseUrl::parse("https://api.forge.coreweave.com").unwrap();
    assert_eq!(forge.with_profile(Some("work")).unwrap(), work);
    for bad in ["", "a b", "a#b", "é", &"x".repeat(65)] {
        assert!(cloud.clone().with_profile(Some(bad)).is_err(), "{bad:?}");
    }
}

#[test]
fn an_entity_hint_travels_on_the_wire_only_without_a_profile() {
    let hinted = BaseUrl::default_cloud().with_entity_hint("acme-research");
    assert_eq!(hinted.wire(), "https://api.wandb.ai#@acme-research");
    // It is no part of the account: the unnamed key's.
    assert_eq!(hinted.account(), "https://api.wandb.ai");
    let back = BaseUrl::from_account(&hinted.wire()).unwrap();
    assert_eq!(back.entity_hint(), Some("acme-research"));
    assert_eq!(back.profile(), None);
    // A chosen profile wins, and a hint that is no name is dropped.
    let chosen = back.with_profile(Some("work")).unwrap();
    assert_eq!(chosen.wire(), "https://api.wandb.ai#work");
    assert_eq!(chosen.clone().with_entity_hint("x").wire(), chosen.wire());
    let bad = BaseUrl::default_cloud().with_entity_hint("a b");
    assert_eq!(bad.wire(), "https://api.wandb.ai");
}

use super::*;

#[test]
fn netloc_is_host_and_port_as_written() {
    assert_eq!(
        BaseUrl::parse("http://127.0.0.1:8765/").unwrap().netloc(),
        "127.0.0.1:8765"
    );
    let u = BaseUrl::parse("https://WB.Example.com:8443/sub//").unwrap();
    assert_eq!(u.as_str(), "https://WB.Example.com:8443/sub");
    assert_eq!(u.netloc(), "WB.Example.com:8443");
    assert_eq!(u.host(), "WB.Example.com");
    assert_eq!(
        BaseUrl::parse("http://[::1]:80").unwrap().netloc(),
        "[::1]:80"
    );
}

#[test]
fn refuses_bad_urls_naming_the_rule() {
    for (bad, want) in [
        ("ftp://x.example", "http:// or https://"),
        ("api.example.com", "http:// or https://"),
        ("https://", "no host"),
        ("https://:443", "no host"),
        ("http://h:99999", "port"),
        ("http://h:x", "port"),
        ("http://a b", "spaces"),
    ] {
        let err = BaseUrl::parse(bad).unwrap_err().to_string();
        assert!(
            err.contains(want) && err.contains(bad.trim_end_matches('/')),
            "{bad}: {err}"
        );
    }
}

#[test]
fn wandb_ai_must_be_the_https_api_host() {
    for bad in ["https://wandb.ai", "https://app.wandb.ai/"] {
        let err = BaseUrl::parse(bad).unwrap_err().to_string();
        assert!(err.contains("did you mean https://api.wandb.ai?"), "{err}");
    }
    assert_eq!(
        BaseUrl::parse("http://api.wandb.ai")
            .unwrap_err()
            .to_string(),
        "http is not secure, please use https://api.wandb.ai"
    );
    assert!(
        BaseUrl::parse("https://api.wandb.ai/")
            .unwrap()
            .is_default()
    );
}

#[test]
fn host_rules_see_through_case_trailing_dots_and_default_ports() {
    for bad in [
        "http://api.wandb.ai.",
        "http://API.WANDB.AI.",
        "HTTP://Api.Wandb.Ai.:80/",
        "http://api.wandb.ai:80",
        "http://api.wandb.ai.:80",
    ] {
        assert!(
            matches!(BaseUrl::parse(bad), Err(UrlError::Insecure(..))),
            "{bad} was not refused as insecure: {:?}",
            BaseUrl::parse(bad)
        );
    }
    for bad in [
        "https://wandb.ai.",
        "https://APP.wandb.ai.",
        "https://Wandb.AI",
    ] {
        assert!(
            matches!(BaseUrl::parse(bad), Err(UrlError::NotApiHost(_))),
            "{bad}"
        );
    }
    let cloud = BaseUrl::default_cloud();
    for same in [
        "https://API.wandb.ai",
        "https://api.wandb.ai.",
        "HTTPS://api.wandb.ai:443/",
    ] {
        let url = BaseUrl::parse(same).unwrap();
        assert_eq!(url, cloud, "{same}");
        assert!(url.is_default(), "{same}");
    }
    assert_ne!(BaseUrl::parse("https://api.wandb.ai:8443").unwrap(), cloud);
    assert_ne!(BaseUrl::parse("https://api.wandb.ai/sub").unwrap(), cloud);
    let forge = BaseUrl::parse("https://API.forge.coreweave.com.").unwrap();
    assert_eq!(forge, cloud);
}

#[test]
fn a_key_given_as_a_url_is_never_shown() {
    let key = format!("local-{}", "a1".repeat(20));
    for text in [key.clone(), format!("wandb_v1_{}", "x".repeat(77))] {
        let err = BaseUrl::parse(&text).unwrap_err().to_string();
        assert!(!err.contains(&text), "{err}");
        assert!(
            err.contains("looks like an API key") && err.contains("http://"),
            "{err}"
        );
        let debug = format!("{:?}", BaseUrl::parse(&text).unwrap_err());
        assert!(!debug.contains(&text), "{debug}");
    }
}

#[test]
fn app_url_follows_the_sdk() {
    let app = |u: &str| BaseUrl::parse(u).unwrap().app_url();
    assert_eq!(app("https://api.wandb.ai"), "https://wandb.ai");
    assert_eq!(app("https://api.acme.example"), "https://app.acme.example");
    assert_eq!(app("http://127.0.0.1:8080"), "http://127.0.0.1:8080");
}
