use super::*;
use serde_json::json;

/// npm's own statements (captured from libnpmpublish by
/// tests/tools/provenance-statement.js).
const GITHUB: &str = include_str!("../../../fixtures/provenance/github-full/statement.json");
const GITLAB: &str = include_str!("../../../fixtures/provenance/gitlab-full/statement.json");

fn no_env() -> Env {
    Env::from_pairs(std::iter::empty::<(String, String)>())
}

fn claims(v: Value) -> Claims {
    match v {
        Value::Object(m) => Claims(m),
        _ => unreachable!(),
    }
}

fn github_claims(repo: &str, id: &str, owner_id: &str) -> Claims {
    claims(json!({
        "repository": repo,
        "repository_id": id,
        "repository_owner": repo.split('/').next().unwrap(),
        "repository_owner_id": owner_id,
    }))
}

fn published_github() -> Identity {
    from_statement(&serde_json::from_str(GITHUB).unwrap()).unwrap()
}

#[test]
fn npms_github_statement_names_the_repository_and_its_ids() {
    assert_eq!(
        published_github(),
        Identity {
            provider: Provider::GitHubActions,
            host: "github.com".into(),
            path: "octo-org/octo-lib".into(),
            id: Some("712345678".into()),
            owner_id: Some("91234567".into()),
        }
    );
}

#[test]
fn npms_gitlab_statement_names_the_project_and_its_ids() {
    let id = from_statement(&serde_json::from_str(GITLAB).unwrap()).unwrap();
    assert_eq!(
        id,
        Identity {
            provider: Provider::GitLab,
            host: "gitlab.com".into(),
            path: "octo-group/octo-lib".into(),
            id: Some("51234567".into()),
            owner_id: Some("61234567".into()),
        }
    );
    let c = claims(json!({
        "iss": "https://gitlab.com",
        "project_path": "octo-group/octo-lib",
        "project_id": "51234567",
        "namespace_id": "61234567",
    }));
    let current = from_claims(&c, Provider::GitLab, &no_env()).unwrap();
    assert_eq!(compare(&id, &current, "1.4.2"), None);
    let renamed = claims(json!({
        "iss": "https://gitlab.com",
        "project_path": "octo-group/octo-core",
        "project_id": "51234567",
        "namespace_id": "61234567",
    }));
    let d = compare(
        &id,
        &from_claims(&renamed, Provider::GitLab, &no_env()).unwrap(),
        "1.4.2",
    )
    .unwrap();
    assert_eq!(d.kind, Kind::Renamed { owner: Owner::Same });
    assert!(
        d.fix("octo-lib", "https://registry.npmjs.org/", None)
            .contains("Namespace \"octo-group\", Project name \"octo-core\""),
        "{d:?}"
    );
}

#[test]
fn statements_of_other_shapes_name_nothing() {
    assert!(from_statement(&json!({})).is_err());
    assert!(from_statement(
        &json!({"predicateType": "https://github.com/npm/attestation/tree/main/specs/publish/v0.1", "predicate": {}})
    )
    .is_err());
    // A repository URL without an owner is no repository.
    assert!(from_statement(
        &json!({"predicateType": "https://slsa.dev/provenance/v1", "predicate": {"buildDefinition": {"buildType": "https://slsa-framework.github.io/github-actions-buildtypes/workflow/v1", "externalParameters": {"workflow": {"repository": "https://github.com/"}}}}})
    )
    .unwrap_err()
    .contains("does not name the source repository"));
}

#[test]
fn the_comparison_tells_renames_transfers_recreations_and_forks() {
    let p = published_github();
    let same = from_claims(
        &github_claims("octo-org/octo-lib", "712345678", "91234567"),
        Provider::GitHubActions,
        &no_env(),
    )
    .unwrap();
    assert_eq!(compare(&p, &same, "1.4.2"), None);

    let kind = |repo: &str, id: &str, owner_id: &str| {
        let c = from_claims(
            &github_claims(repo, id, owner_id),
            Provider::GitHubActions,
            &no_env(),
        )
        .unwrap();
        compare(&p, &c, "1.4.2").map(|d| d.kind)
    };
    assert_eq!(
        kind("octo-org/octo-core", "712345678", "91234567"),
        Some(Kind::Renamed { owner: Owner::Same })
    );
    assert_eq!(
        kind("Octo-Org/octo-lib", "712345678", "91234567"),
        Some(Kind::Renamed { owner: Owner::Same })
    );
    let case = from_claims(
        &github_claims("Octo-Org/octo-lib", "712345678", "91234567"),
        Provider::GitHubActions,
        &no_env(),
    )
    .unwrap();
    let m = compare(&p, &case, "1.4.2").unwrap().message("octo-lib");
    assert!(m.contains("renamed in upper/lower case only"), "{m}");
    assert_eq!(
        kind("new-home/octo-lib", "712345678", "5555"),
        Some(Kind::Renamed {
            owner: Owner::Transferred
        })
    );
    assert_eq!(
        kind("octo-org/octo-lib", "999", "91234567"),
        Some(Kind::Recreated)
    );
    assert_eq!(
        kind("someone/octo-lib", "999", "5555"),
        Some(Kind::Other { fork: true })
    );
    assert_eq!(
        kind("someone/else", "999", "5555"),
        Some(Kind::Other { fork: false })
    );
    // Without ids, only a name change shows, and cannot be told apart.
    let no_ids = claims(json!({"repository": "octo-org/octo-core"}));
    let c = from_claims(&no_ids, Provider::GitHubActions, &no_env()).unwrap();
    assert_eq!(compare(&p, &c, "1.4.2").map(|d| d.kind), Some(Kind::Moved));
    // Which side lacks the id is said.
    let m = compare(&p, &c, "1.4.2").unwrap().message("octo-lib");
    assert!(
        m.contains("only the publishing job's id token carries"),
        "{m}"
    );
    let mut no_id = p.clone();
    no_id.id = None;
    let m = compare(&no_id, &c, "1.4.2").unwrap().message("octo-lib");
    assert!(
        m.contains("the provenance names no repository id to tell which"),
        "{m}"
    );
    let no_ids = claims(json!({"repository": "octo-org/octo-lib"}));
    let c = from_claims(&no_ids, Provider::GitHubActions, &no_env()).unwrap();
    assert_eq!(compare(&p, &c, "1.4.2"), None);
    // Named outside CI (a remote in other case, on the same host, under
    // whatever CI): the same repository.
    let remote = Identity {
        provider: Provider::GitLab,
        host: "github.com".into(),
        path: "Octo-Org/Octo-Lib".into(),
        id: None,
        owner_id: None,
    };
    assert_eq!(compare(&p, &remote, "1.4.2"), None);
    // Another CI is another repository.
    let gl = from_statement(&serde_json::from_str(GITLAB).unwrap()).unwrap();
    assert_eq!(
        compare(&gl, &same, "1.4.2").map(|d| d.kind),
        Some(Kind::Other { fork: false })
    );
    // CircleCI's claims name no repository the provenance records.
    assert_eq!(
        from_claims(
            &claims(json!({"sub": "org/x"})),
            Provider::CircleCi,
            &no_env()
        ),
        None
    );
}

#[test]
fn the_words_name_both_repositories_and_what_to_change() {
    let p = published_github();
    let c = from_claims(
        &github_claims("octo-org/octo-core", "712345678", "91234567"),
        Provider::GitHubActions,
        &no_env(),
    )
    .unwrap();
    let d = compare(&p, &c, "1.4.2").unwrap();
    let m = d.message("octo-lib");
    assert!(
        m.contains("octo-lib@1.4.2 was published from github.com/octo-org/octo-lib (repository id 712345678)")
            && m.contains("github.com/octo-org/octo-core")
            && m.contains("renamed"),
        "{m}"
    );
    let old = json!({"type": "git", "url": "git+https://github.com/octo-org/octo-lib.git"});
    let fix = d.fix("octo-lib", "https://registry.npmjs.org/", Some(&old));
    assert!(
        fix.contains("https://www.npmjs.com/package/octo-lib/access")
            && fix.contains("Organization or user \"octo-org\", Repository \"octo-core\"")
            && fix.contains("git+https://github.com/octo-org/octo-core.git"),
        "{fix}"
    );
    // package.json already names the new repository: nothing to say about it.
    let new = json!("github:octo-org/octo-core");
    let fix = d.fix("octo-lib", "https://registry.npmjs.org/", Some(&new));
    assert!(!fix.contains("package.json"), "{fix}");
}

fn attestations(statement: &str) -> Vec<u8> {
    let payload = base64::engine::general_purpose::STANDARD.encode(statement);
    json!({"attestations": [
        {"predicateType": "https://github.com/npm/attestation/tree/main/specs/publish/v0.1",
         "bundle": {"dsseEnvelope": {"payload": "e30=", "payloadType": "application/vnd.in-toto+json", "signatures": []}}},
        {"predicateType": "https://slsa.dev/provenance/v1",
         "bundle": {"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
                    "dsseEnvelope": {"payload": payload, "payloadType": "application/vnd.in-toto+json", "signatures": [{"sig": "AA=="}]}}},
    ]})
    .to_string()
    .into_bytes()
}

#[test]
fn the_attestations_document_is_read_for_its_provenance() {
    let body = attestations(GITHUB);
    assert_eq!(
        identity_from_attestations(&body, "octo-lib", "1.4.2"),
        Ok(published_github())
    );
    // The statement must be about this version.
    let e = identity_from_attestations(&body, "octo-lib", "1.4.3").unwrap_err();
    assert!(e.contains("pkg:npm/octo-lib@1.4.3"), "{e}");
    for (bad, why) in [
        (&b"not json"[..], "not JSON"),
        (br#"{"attestations": []}"#, "no SLSA provenance"),
        (br#"{"x": 1}"#, "no \"attestations\""),
        (
            br#"{"attestations": [{"predicateType": "https://slsa.dev/provenance/v1", "bundle": {"dsseEnvelope": {"payload": "%%", "payloadType": "application/vnd.in-toto+json"}}}]}"#,
            "not base64",
        ),
    ] {
        let e = identity_from_attestations(bad, "octo-lib", "1.4.2").unwrap_err();
        assert!(e.contains(why), "{e}");
    }
    let slsa = |bundle: Value| {
        json!({"attestations": [{"predicateType": "https://slsa.dev/provenance/v1", "bundle": bundle}]})
            .to_string()
            .into_bytes()
    };
    let b64 = |v: &Value| base64::engine::general_purpose::STANDARD.encode(v.to_string());
    let about_it = json!({"subject": [{"name": "pkg:npm/octo-lib@1.4.2"}], "predicateType": "https://slsa.dev/provenance/v1", "predicate": {}});
    for (bundle, why) in [
        (json!({}), "no DSSE envelope"),
        (
            json!({"dsseEnvelope": {"payload": "e30=", "payloadType": "text/plain"}}),
            "does not hold an in-toto statement",
        ),
        (
            json!({"dsseEnvelope": {"payload": b64(&about_it), "payloadType": "application/vnd.in-toto+json"}}),
            "is not one npm writes",
        ),
    ] {
        let e = identity_from_attestations(&slsa(bundle), "octo-lib", "1.4.2").unwrap_err();
        assert!(e.contains(why), "{e}");
    }
    let huge = vec![b' '; MAX_ATTESTATIONS + 1];
    assert!(identity_from_attestations(&huge, "octo-lib", "1.4.2")
        .unwrap_err()
        .contains("larger"));
}

/// npm 9.5–9.8's statements (libnpmpublish 7.1.0 and 7.4.0, captured by
/// tests/tools/provenance-statement.js: fixtures/provenance-npm9/).
const NPM9_71: &str =
    include_str!("../../../fixtures/provenance-npm9/libnpmpublish-7.1.0/github/statement.json");
const NPM9_74: &str =
    include_str!("../../../fixtures/provenance-npm9/libnpmpublish-7.4.0/github/statement.json");

#[test]
fn npm9s_slsa_v02_github_statements_name_the_repository_without_its_ref() {
    for text in [NPM9_71, NPM9_74] {
        let st: Value = serde_json::from_str(text).unwrap();
        assert_eq!(
            st["predicateType"], "https://slsa.dev/provenance/v0.2",
            "the fixture is npm 9's shape"
        );
        let id = from_statement(&st).unwrap();
        // The same repository as npm 11's statement for the same job: no
        // `@refs/tags/…` in the path, GitHub (not GitLab), the ids.
        assert_eq!(id, published_github());
        let same = from_claims(
            &github_claims("octo-org/octo-lib", "712345678", "91234567"),
            Provider::GitHubActions,
            &no_env(),
        )
        .unwrap();
        assert_eq!(compare(&id, &same, "1.4.2"), None);
        // And through the attestations document.
        let body = attestations(text);
        assert_eq!(
            identity_from_attestations(&body, "octo-lib", "1.4.2"),
            Ok(published_github())
        );
        // configSource and GITHUB_REPOSITORY disagreeing: no guess.
        let mut odd = st.clone();
        odd["predicate"]["invocation"]["environment"]["GITHUB_REPOSITORY"] = json!("else/where");
        assert!(from_statement(&odd)
            .unwrap_err()
            .contains("two repositories"));
    }
}

#[test]
fn a_statement_of_an_unknown_build_type_names_nothing() {
    // A v0.2 statement that is neither npm's GitHub nor its GitLab shape
    // (another builder): not read as GitLab, no drift.
    let mut st: Value = serde_json::from_str(NPM9_74).unwrap();
    st["predicate"]["buildType"] = json!("https://example.com/builder/v9");
    let e = from_statement(&st).unwrap_err();
    assert!(
        e.contains("https://example.com/builder/v9") && e.contains("is not one npm writes"),
        "{e}"
    );
    let mut v1: Value = serde_json::from_str(GITHUB).unwrap();
    v1["predicate"]["buildDefinition"]["buildType"] = json!("https://example.com/other");
    assert!(from_statement(&v1).is_err());
    // Through the attestations: the reason for the notice.
    let e = identity_from_attestations(&attestations(&st.to_string()), "octo-lib", "1.4.2")
        .unwrap_err();
    assert!(e.contains("is not one npm writes"), "{e}");
}

#[test]
fn github_enterprise_jobs_are_on_their_own_host() {
    let c = github_claims("octo-org/octo-lib", "712345678", "91234567");
    let env = Env::from_pairs([("GITHUB_SERVER_URL", "https://GHE.example.com")]);
    let id = from_claims(&c, Provider::GitHubActions, &env).unwrap();
    assert_eq!(id.host, "ghe.example.com");
    // Without GITHUB_SERVER_URL, the token's issuer tells.
    for (iss, host) in [
        ("https://ghe.example.com/_services/token", "ghe.example.com"),
        ("https://token.actions.octo.ghe.com", "octo.ghe.com"),
        ("https://token.actions.githubusercontent.com", "github.com"),
    ] {
        let mut c = c.clone();
        c.0.insert("iss".into(), json!(iss));
        assert_eq!(
            from_claims(&c, Provider::GitHubActions, &no_env())
                .unwrap()
                .host,
            host
        );
    }
    // A version published from that GHE repository, and a job there: the
    // same repository.
    let mut st: Value = serde_json::from_str(GITHUB).unwrap();
    st["predicate"]["buildDefinition"]["externalParameters"]["workflow"]["repository"] =
        json!("https://ghe.example.com/octo-org/octo-lib");
    let published = from_statement(&st).unwrap();
    assert_eq!(compare(&published, &id, "1.4.2"), None);
}

#[test]
fn owners_renamed_ids_as_numbers_and_gitlab_project_ids() {
    let p = published_github();
    // The same repository and owner ids, another owner name.
    let c = from_claims(
        &github_claims("octo-renamed/octo-lib", "712345678", "91234567"),
        Provider::GitHubActions,
        &no_env(),
    )
    .unwrap();
    let d = compare(&p, &c, "1.4.2").unwrap();
    assert_eq!(
        d.kind,
        Kind::Renamed {
            owner: Owner::Renamed
        }
    );
    let m = d.message("octo-lib");
    assert!(
        m.contains("its owner was renamed from octo-org to octo-renamed")
            && !m.contains("transferred"),
        "{m}"
    );
    // No owner ids: cannot tell.
    let no_owner_id = claims(json!({"repository": "x/octo-lib", "repository_id": "712345678"}));
    let c = from_claims(&no_owner_id, Provider::GitHubActions, &no_env()).unwrap();
    assert_eq!(
        compare(&p, &c, "1.4.2").unwrap().kind,
        Kind::Renamed {
            owner: Owner::Changed
        }
    );
    // Numeric ids, as a hand-made token carries them.
    for n in [json!(712345678), json!(712345678.0)] {
        let c = claims(
            json!({"repository": "octo-org/octo-lib", "repository_id": n, "repository_owner_id": 91234567}),
        );
        let id = from_claims(&c, Provider::GitHubActions, &no_env()).unwrap();
        assert_eq!(id.id.as_deref(), Some("712345678"));
        assert_eq!(id.owner_id.as_deref(), Some("91234567"));
        assert_eq!(compare(&p, &id, "1.4.2"), None);
    }
    assert_eq!(id_text(Some(&json!(1.5))), None);
    // GitLab's ids are project ids.
    let gl = from_statement(&serde_json::from_str(GITLAB).unwrap()).unwrap();
    let c = claims(
        json!({"project_path": "octo-group/octo-core", "project_id": "51234567", "namespace_id": "61234567"}),
    );
    let d = compare(
        &gl,
        &from_claims(&c, Provider::GitLab, &no_env()).unwrap(),
        "1.4.2",
    )
    .unwrap();
    let m = d.message("octo-lib");
    assert!(
        m.contains("(project id 51234567)") && !m.contains("repository id"),
        "{m}"
    );
}

#[test]
fn after_a_working_exchange_the_words_keep_only_the_advice_that_applies() {
    let p = published_github();
    let old = json!({"type": "git", "url": "git+https://github.com/octo-org/octo-lib.git"});
    let renamed = from_claims(
        &github_claims("octo-org/octo-core", "712345678", "91234567"),
        Provider::GitHubActions,
        &no_env(),
    )
    .unwrap();
    let d = compare(&p, &renamed, "1.4.2").unwrap();
    let m = d.matched_message("octo-lib", "this version comes from");
    assert!(
        m.contains("was published from github.com/octo-org/octo-lib (repository id 712345678); this version comes from github.com/octo-org/octo-core")
            && m.contains("the same repository, renamed")
            && m.contains("already accepts this repository")
            && !m.contains("no longer matches"),
        "{m}"
    );
    let a = d.matched_advice("octo-lib", Some(&old)).unwrap();
    assert!(
        a.contains("git+https://github.com/octo-org/octo-core.git")
            && !a.contains("trusted publisher"),
        "{a}"
    );
    // package.json up to date: nothing to do.
    assert_eq!(
        d.matched_advice("octo-lib", Some(&json!("github:octo-org/octo-core"))),
        None
    );
    // Recreated, another repository: who owns it.
    for (repo, id, why) in [
        ("octo-org/octo-lib", "999", "find out who owns it now"),
        ("someone/else", "999", "that you control it"),
    ] {
        let c = from_claims(
            &github_claims(repo, id, "5555"),
            Provider::GitHubActions,
            &no_env(),
        )
        .unwrap();
        let d = compare(&p, &c, "1.4.2").unwrap();
        let a = d
            .matched_advice("octo-lib", Some(&json!(format!("github:{repo}"))))
            .unwrap();
        assert!(a.contains(why) && !a.contains("package.json"), "{a}");
    }
}
