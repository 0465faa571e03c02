//! The invitation and reset pages: their headers, and their behaviour in a real headless
//! browser. Screenshots go to `tests/output/pages/`.

use super::browser::{Browser, BROWSER_LOCK};
use super::support::Server;
use crate::common::{OTHER_PASSWORD, PASSWORD};
use keyward::core::permission::BuiltinRole;
use serde_json::json;
use std::path::PathBuf;

fn screenshot_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/output/pages")
        .join(format!("{name}.png"))
}

#[test]
fn the_pages_are_served_with_a_strict_content_security_policy_and_are_not_cached() {
    let server = Server::start();
    for (path, title) in [
        ("/invite", "Welcome to Keyward"),
        ("/reset", "Set a new password"),
    ] {
        let page = server.get(path, "");
        assert_eq!(page.status, 200);
        assert_eq!(page.content_type(), "text/html; charset=utf-8");
        let csp = page.header("content-security-policy").expect("a CSP");
        for directive in [
            "default-src 'none'",
            "script-src 'self'",
            "connect-src 'self'",
            "frame-ancestors 'none'",
        ] {
            assert!(csp.contains(directive), "{csp}");
        }
        assert!(
            !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
            "{csp}"
        );
        assert_eq!(page.header("referrer-policy"), Some("no-referrer"));
        assert_eq!(page.header("cache-control"), Some("no-store"));
        assert_eq!(page.header("x-content-type-options"), Some("nosniff"));
        assert!(
            page.text.contains(&format!("<h1>{title}</h1>")),
            "{}",
            page.text
        );
        assert!(
            !page.text.contains("{{"),
            "an unfilled placeholder: {}",
            page.text
        );
        assert!(!page.text.contains("<script>"), "no inline script");
    }
    let script = server.get("/pages/set-password.js", "");
    assert_eq!(script.content_type(), "text/javascript");
    assert!(script.text.contains("history.replaceState"));
    let style = server.get("/pages/page.css", "");
    assert_eq!(style.content_type(), "text/css");
}

#[test]
fn an_invitation_link_opened_in_a_browser_sets_the_password_once() {
    let _one_browser = BROWSER_LOCK.lock().unwrap_or_else(|p| p.into_inner());
    let server = Server::start();
    let root = server.root();
    let created = server
        .post(
            "/api/users",
            &root,
            json!({"userName": "ivy", "displayName": "Ivy Invited", "email": "ivy@example.com",
                   "roles": [BuiltinRole::Viewer.id()]}),
        )
        .expect(201);
    assert_eq!(created["status"], "INVITED");
    let user_path = format!("/api/users/{}", created["id"].as_str().unwrap());
    let link = created["inviteLink"].as_str().unwrap().to_owned();
    assert!(
        link.starts_with(&format!("{}/invite#token=", server.url)),
        "{link}"
    );
    let token = link.rsplit_once("#token=").unwrap().1.to_owned();
    let browser = Browser::start();

    browser.goto(&link);
    browser.wait_for_page();
    // The token leaves the address bar (and the history entry) at once.
    browser.wait_until("the token to leave the address bar", |b| {
        !b.current_url().contains("token")
    });
    assert_eq!(browser.current_url(), format!("{}/invite", server.url));
    let href = browser.script("return location.href", json!([]));
    assert!(!href.as_str().unwrap().contains(&token), "{href}");
    assert_eq!(browser.text("h1"), "Welcome to Keyward");
    assert!(browser.displayed("#password-form"));
    assert!(!browser.displayed("#password-error"));

    // Too short: the server's policy, shown on the password field; nothing changes.
    browser.type_into("#password", "short pass 1");
    browser.type_into("#confirm", "short pass 1");
    browser.click("#submit");
    browser.wait_until("the password error", |b| b.displayed("#password-error"));
    let error = browser.text("#password-error");
    assert!(error.contains("15"), "{error}");
    assert_eq!(
        browser.attribute("#password", "aria-invalid").as_deref(),
        Some("true")
    );
    assert!(!browser.displayed("#confirm-error"));
    assert!(!browser.displayed("#done"));
    browser.screenshot(&screenshot_path("invite-error"));
    assert_eq!(
        server.get(&user_path, &root).expect(200)["status"],
        "INVITED"
    );

    // The confirmation differs: said on the confirmation field, before asking the server.
    let requests_before = server.replies().len();
    browser.type_into("#password", PASSWORD);
    browser.type_into("#confirm", "tangerine orbit wallpaper 43");
    browser.click("#submit");
    browser.wait_until("the confirmation error", |b| b.displayed("#confirm-error"));
    assert!(!browser.text("#confirm-error").is_empty());
    assert!(!browser.displayed("#password-error"));
    assert_eq!(
        browser.attribute("#confirm", "aria-invalid").as_deref(),
        Some("true")
    );
    assert_eq!(
        server.get(&user_path, &root).expect(200)["status"],
        "INVITED"
    );
    assert_eq!(server.replies().len(), requests_before + 1);

    // A good password: the success message; the user is active and signs in.
    browser.type_into("#confirm", PASSWORD);
    browser.click("#submit");
    browser.wait_until("the success message", |b| b.displayed("#done"));
    let done = browser.text("#done");
    assert!(done.contains("ivy"), "{done}");
    assert!(!browser.displayed("#password-form"));
    assert!(!browser.displayed("#confirm-error"));
    browser.screenshot(&screenshot_path("invite-success"));
    assert_eq!(
        server.get(&user_path, &root).expect(200)["status"],
        "ACTIVE"
    );
    let session = server.login("ivy", PASSWORD);
    assert_eq!(
        server.get("/api/me", &session).expect(200)["userName"],
        "ivy"
    );

    // The same link again: refused, and said so.
    browser.goto("about:blank");
    browser.goto(&link);
    browser.wait_for_page();
    browser.type_into("#password", OTHER_PASSWORD);
    browser.type_into("#confirm", OTHER_PASSWORD);
    browser.click("#submit");
    // The link is dead: said so, and the form goes away (typing again would not help).
    browser.wait_until("the refusal", |b| b.displayed("#form-error"));
    let refusal = browser.text("#form-error");
    assert!(refusal.contains("not valid any more"), "{refusal}");
    assert!(!browser.displayed("#password-form"));
    assert!(!browser.displayed("#done"));
    browser.screenshot(&screenshot_path("invite-used"));
    server.login("ivy", PASSWORD);

    // A link without its token says what to do instead of showing a form.
    browser.goto(&format!("{}/invite", server.url));
    browser.wait_for_page();
    assert!(!browser.displayed("#password-form"));
    assert!(browser.text("#form-error").contains("incomplete"));
}

#[test]
fn a_reset_link_opened_in_a_browser_sets_a_new_password_and_ends_old_sessions() {
    let _one_browser = BROWSER_LOCK.lock().unwrap_or_else(|p| p.into_inner());
    let server = Server::start();
    let root = server.root();
    let ann = server.user(&root, "ann", &[BuiltinRole::Operator.id()]);
    let old_session = server.login("ann", PASSWORD);
    let reset = server
        .post(
            &format!("/api/users/{}/resetpassword", ann["id"].as_str().unwrap()),
            &root,
            json!({}),
        )
        .expect(200);
    let link = reset["resetLink"].as_str().unwrap().to_owned();
    assert!(
        link.starts_with(&format!("{}/reset#token=", server.url)),
        "{link}"
    );
    let browser = Browser::start();

    browser.goto(&link);
    browser.wait_for_page();
    browser.wait_until("the token to leave the address bar", |b| {
        !b.current_url().contains("token")
    });
    assert_eq!(browser.text("h1"), "Set a new password");
    browser.type_into("#password", OTHER_PASSWORD);
    browser.type_into("#confirm", OTHER_PASSWORD);
    browser.click("#submit");
    browser.wait_until("the success message", |b| b.displayed("#done"));
    assert!(browser.text("#done").contains("ann"));
    browser.screenshot(&screenshot_path("reset-success"));

    server
        .get("/api/me", &old_session)
        .problem(401, "UNAUTHENTICATED");
    server.login("ann", OTHER_PASSWORD);
    server
        .post(
            "/api/auth/login",
            "",
            json!({"userName": "ann", "password": PASSWORD}),
        )
        .problem(401, "SIGN_IN_FAILED");

    // Used once: the link is refused the second time.
    browser.goto("about:blank");
    browser.goto(&link);
    browser.wait_for_page();
    browser.type_into("#password", PASSWORD);
    browser.type_into("#confirm", PASSWORD);
    browser.click("#submit");
    browser.wait_until("the refusal", |b| b.displayed("#form-error"));
    assert!(browser.text("#form-error").contains("not valid any more"));
    assert!(!browser.displayed("#password-form"));
    assert!(!browser.displayed("#done"));
    server.login("ann", OTHER_PASSWORD);
}
