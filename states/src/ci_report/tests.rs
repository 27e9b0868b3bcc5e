use serde_json::json;

use super::*;
use crate::run::Report;

fn report(v: serde_json::Value) -> Report {
    Report::from_json(&v).unwrap()
}

fn sample() -> Vec<MinionOutcome> {
    vec![
        MinionOutcome {
            id: "web1".into(),
            outcome: Outcome::States(report(json!({
                "file_|-conf_|-/etc/app.conf_|-managed": {
                    "name": "/etc/app.conf", "result": null, "comment": "The file /etc/app.conf is set to be changed",
                    "changes": {"diff": "--- \n+++ \n@@ -1 +1 @@\n-a & b\n+<c>\n"},
                    "__sls__": "app", "__run_num__": 0, "duration": 1.5, "__id__": "conf", "start_time": "",
                },
                "cmd_|-bad_|-false_|-run": {
                    "name": "false", "result": false, "comment": "Command \"false\" run\x01",
                    "changes": {}, "__sls__": "app", "__run_num__": 1, "duration": 2.0, "__id__": "bad", "start_time": "",
                },
            }))),
        },
        MinionOutcome::from_return("web2", &json!(["Rendering SLS 'base:app' failed: line 1"])),
        MinionOutcome {
            id: "web3".into(),
            outcome: Outcome::DidNotReturn("Minion did not return. [No response]".into()),
        },
    ]
}

#[test]
fn junit_counts_failures_and_errors_and_escapes_what_xml_cannot_hold() {
    let xml = junit(
        &sample(),
        ReportOptions {
            test: true,
            fail_on_change: false,
        },
    );
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"brine\" tests=\"4\" failures=\"1\" errors=\"2\""), "{xml}");
    assert!(
        xml.contains("<testsuite name=\"web1\" tests=\"2\" failures=\"1\" errors=\"0\""),
        "{xml}"
    );
    assert!(
        xml.contains("classname=\"app\" name=\"cmd_|-bad_|-false_|-run\""),
        "{xml}"
    );
    // The control character becomes U+FFFD, quotes are escaped.
    assert!(
        xml.contains("message=\"Command &quot;false&quot; run\u{FFFD}\""),
        "{xml}"
    );
    // Pending without --fail-on-change: a passing case.
    assert!(
        xml.contains("name=\"file_|-conf_|-/etc/app.conf_|-managed\" time=\"0.002\"/>"),
        "{xml}"
    );
    assert!(xml.contains(
        "<error type=\"did not return\" message=\"Minion did not return. [No response]\"/>"
    ));

    let strict = junit(
        &sample(),
        ReportOptions {
            test: true,
            fail_on_change: true,
        },
    );
    assert!(strict.contains("failures=\"2\""), "{strict}");
    assert!(strict.contains("<failure type=\"would change\" message=\"--- &#10;+++ &#10;@@ -1 +1 @@&#10;-a &amp; b&#10;+&lt;c&gt;&#10;\">"), "{strict}");
}

#[test]
fn markdown_has_a_line_per_minion_and_each_diff_in_a_fence_nothing_closes() {
    let mut minions = sample();
    if let Outcome::States(r) = &mut minions[0].outcome {
        r.rets[0].changes.insert("diff".into(), json!("```\nx"));
    }
    let md = markdown(
        "master apply --test",
        &minions,
        ReportOptions {
            test: true,
            fail_on_change: false,
        },
    );
    assert!(md.contains("| web1 | failed | 1 | 1 | 1 |"), "{md}");
    assert!(md.contains("| web2 | could not run | 0 | 0 | 0 |"), "{md}");
    assert!(md.contains("| web3 | did not return | | | |"), "{md}");
    assert!(
        md.contains(
            "<summary>web1: file_|-conf_|-/etc/app.conf_|-managed (would change)</summary>"
        ),
        "{md}"
    );
    // The diff holds a triple backtick: the fence is four.
    assert!(md.contains("\n````\n"), "{md}");
}
