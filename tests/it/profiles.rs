//! Several keys for one server (issue 26, first part): profiles in the keychain, chosen
//! per command (`--profile`, `WANDB_CRED_PROFILE`, a matching entity, the default that
//! only `switch` moves), never a copied "active" key; netrc keeps the SDK's one key.

use libtest_mimic::Trial;

use crate::harness::{Need, Sandbox};
use crate::keyring::{Keyring, Provider};
use crate::server::{FakeServer, Reply};
use crate::trials;

pub fn tests() -> Vec<Trial> {
    let mut all = trials![[Need::Keyring];
        two_profiles_for_the_cloud_are_chosen_per_command,
        concurrent_shells_with_different_profiles_never_see_each_others_key,
        the_workspace_entity_chooses_the_profile,
        the_git_helper_takes_the_profile_from_the_username,
        migrate_moves_netrc_into_the_profile_a_command_chooses,
    ];
    all.extend(trials![
        a_profile_needs_an_off_disk_store_and_netrc_is_left_alone
    ]);
    all.extend(
        trials![[Need::Keyring, Need::Sdk]; the_sdk_through_the_hook_gets_each_projects_key],
    );
    all.extend(trials![[Need::Keyring, Need::Sshd, Need::OtherUser]; a_remote_in_wandb_cred_ssh_chooses_among_this_machines_profiles]);
    all.extend(trials![[Need::Keyring, Need::Python]; the_python_api_takes_a_profile]);
    all
}

/// A sandbox with a private keychain and two profiles for the cloud: `personal` (the
/// first, so the default) and `work`; their keys.
pub fn two_profiles() -> (Sandbox, Keyring, String, String) {
    let mut sb = Sandbox::new();
    let kr = Keyring::start(&mut sb, Provider::Unlocked);
    let personal = sb.key();
    let work = sb.key();
    for (profile, key) in [("personal", &personal), ("work", &work)] {
        sb.cmd(&["login", "--profile", profile, key]).run().ok();
    }
    (sb, kr, personal, work)
}

fn get(sb: &Sandbox, args: &[&str], env: &[(&str, &str)]) -> String {
    let mut all = vec!["get"];
    all.extend(args);
    let mut run = sb.cmd(&all).key_on_stdout();
    for (name, value) in env {
        run = run.env(name, value);
    }
    run.run().ok().stdout.trim().to_owned()
}

fn two_profiles_for_the_cloud_are_chosen_per_command() {
    let mut sb = Sandbox::new();
    let kr = Keyring::start(&mut sb, Provider::Unlocked);
    let personal = sb.key();
    let work = sb.key();
    sb.cmd(&["login", "--profile", "personal", &personal])
        .run()
        .ok()
        .stderr_has("Profile personal is the default for api.wandb.ai");
    sb.cmd(&["login", "--profile", "work", &work]).run().ok();
    // Two items, one per profile; no copied "active" key.
    assert_eq!(
        kr.lookup("https://api.wandb.ai#personal").as_deref(),
        Some(personal.as_str())
    );
    assert_eq!(
        kr.lookup("https://api.wandb.ai#work").as_deref(),
        Some(work.as_str())
    );
    assert_eq!(kr.lookup("https://api.wandb.ai"), None);
    assert_eq!(get(&sb, &[], &[]), personal);
    assert_eq!(get(&sb, &["--profile", "work"], &[]), work);
    assert_eq!(get(&sb, &[], &[("WANDB_CRED_PROFILE", "work")]), work);
    // --profile beats the environment.
    assert_eq!(
        get(
            &sb,
            &["--profile", "personal"],
            &[("WANDB_CRED_PROFILE", "work")]
        ),
        personal
    );
    sb.cmd(&["status", "--profile", "work"])
        .run()
        .ok()
        .stdout_has("Profile:   work (from --profile)\n");
    // WANDB_API_KEY wins over every profile, and status says so.
    let env_key = sb.key();
    sb.cmd(&["status", "--profile", "work"])
        .env("WANDB_API_KEY", &env_key)
        .run()
        .ok()
        .stdout_has("Profile:   work (from --profile); WANDB_API_KEY is set and is used instead")
        .stdout_has("from the WANDB_API_KEY environment variable");
    sb.cmd(&["doctor"])
        .env("WANDB_CRED_PROFILE", "work")
        .run()
        .ok()
        .stdout_has("[ok]      profile    work (from WANDB_CRED_PROFILE)")
        .stdout_has("account https://api.wandb.ai#work");
    // exec and get --env (what the Python hook runs) follow the same choice.
    sb.cmd(&["exec", "--", "sh", "-c", "echo $WANDB_API_KEY"])
        .env("WANDB_CRED_PROFILE", "work")
        .key_on_stdout()
        .run()
        .ok()
        .stdout_is(&format!("{work}\n"));
    sb.cmd(&["get", "--env"])
        .env("WANDB_CRED_PROFILE", "work")
        .key_on_stdout()
        .run()
        .ok()
        .stdout_has(&format!("WANDB_API_KEY={work}\n"));
    // switch is what moves the default.
    sb.cmd(&["switch", "work"])
        .run()
        .ok()
        .stderr_has("The default profile for api.wandb.ai is now work");
    assert_eq!(get(&sb, &[], &[]), work);
    sb.cmd(&["list"])
        .run()
        .ok()
        .stdout_has("https://api.wandb.ai#personal")
        .stdout_has("(service wandb) (default)");
    sb.cmd(&["switch", "nobody"])
        .run()
        .fails(1)
        .stderr_has("has no key for profile nobody");
    // logout --profile removes that one only.
    sb.cmd(&["logout", "--profile", "personal"]).run().ok();
    assert_eq!(kr.lookup("https://api.wandb.ai#personal"), None);
    assert_eq!(get(&sb, &[], &[]), work);
    // Removing the default names the next one.
    sb.cmd(&["login", "--profile", "personal", &personal])
        .run()
        .ok();
    sb.cmd(&["logout", "--profile", "work"])
        .run()
        .ok()
        .stderr_has("The default profile for api.wandb.ai is now personal.");
    assert_eq!(get(&sb, &[], &[]), personal);
    sb.cmd(&["get", "--profile", "bad name"])
        .run()
        .fails(1)
        .stderr_has("invalid profile name");
}

/// No global "active" state: shells with different WANDB_CRED_PROFILE, running at once
/// against one daemon, each get their own key every time.
fn concurrent_shells_with_different_profiles_never_see_each_others_key() {
    let mut sb = Sandbox::new();
    let _kr = Keyring::start(&mut sb, Provider::Unlocked);
    let a = sb.key();
    let b = sb.key();
    sb.cmd(&["login", "--profile", "a", &a]).run().ok();
    sb.cmd(&["login", "--profile", "b", &b]).run().ok();
    sb.bin_dir();
    let script = "for i in $(seq 40); do WANDB_CRED_PROFILE=a wandb-cred get; done > a.out &\n\
                  for i in $(seq 40); do WANDB_CRED_PROFILE=b wandb-cred get; done > b.out &\n\
                  wait";
    sb.program("bash", &["-c", script]).run().ok();
    for (file, key) in [("a.out", &a), ("b.out", &b)] {
        let text = sb.read(&sb.work.join(file)).unwrap();
        assert_eq!(text.lines().count(), 40);
        assert!(text.lines().all(|l| l == key), "{file} got another key");
    }
}

/// A project folder whose W&B settings name an entity gets that entity's key, as the
/// server told `whoami`.
fn the_workspace_entity_chooses_the_profile() {
    let server = FakeServer::start(Reply::Viewer {
        username: "ann",
        entity: "acme-research",
        teams: &[],
    });
    let mut sb = Sandbox::new();
    let _kr = Keyring::start(&mut sb, Provider::Unlocked);
    let personal = sb.key();
    let work = sb.key();
    let host = server.url();
    sb.cmd(&["login", "--host", &host, "--profile", "personal", &personal])
        .run()
        .ok();
    sb.cmd(&["login", "--host", &host, "--profile", "work", &work])
        .run()
        .ok();
    // The guide's command.
    let whoami = crate::harness::recipe_args("whoami-profile", "", &[]);
    let whoami: Vec<&str> = whoami.iter().map(String::as_str).collect();
    sb.cmd(&whoami)
        .run()
        .ok()
        .stdout_has("Entity:    acme-research");
    let project = sb.work.join("project");
    std::fs::create_dir_all(project.join("wandb")).unwrap();
    sb.write(
        &project.join("wandb/settings"),
        "[default]\nentity = acme-research\n",
    );
    sb.cmd(&["get"])
        .dir(&project)
        .key_on_stdout()
        .run()
        .ok()
        .stdout_is(&format!("{work}\n"));
    sb.cmd(&["status"])
        .dir(&project)
        .run()
        .ok()
        .stdout_has("Profile:   work (from entity acme-research in the workspace settings)");
    // list names the entity of the profile the server described.
    sb.cmd(&["list"])
        .run()
        .ok()
        .stdout_has("(entity acme-research)");
    // Elsewhere the default (the first login) holds.
    assert_eq!(get(&sb, &[], &[]), personal);
    assert_eq!(get(&sb, &[], &[("WANDB_ENTITY", "acme-research")]), work);
}

/// netrc holds the SDK's one key per server: a named profile there is refused, and
/// nothing is changed.
fn a_profile_needs_an_off_disk_store_and_netrc_is_left_alone() {
    let sb = Sandbox::new();
    let key = sb.key();
    sb.cmd(&["login", &key]).run().ok();
    let before = sb.read(&sb.netrc());
    sb.cmd(&["login", "--profile", "work", &sb.key()])
        .run()
        .fails(1)
        .stderr_has("netrc holds one key per server, the default profile's");
    assert_eq!(sb.read(&sb.netrc()), before);
    sb.get_gives(&key);
}

/// `wandb_cred.get_key(profile=...)`, in a venv where `setup-python` put the package.
fn the_python_api_takes_a_profile() {
    let (sb, _kr, personal, work) = two_profiles();
    let (python, _) =
        crate::harness::make_venv(std::path::Path::new("python3"), &sb.root.join("venv"));
    sb.cmd(&["setup-python", "--python", python.to_str().unwrap()])
        .run()
        .ok();
    sb.program(
        &python,
        &["-c", "import wandb_cred; print(wandb_cred.get_key(profile='work')); print(wandb_cred.get_key())"],
    )
    .key_on_stdout()
    .run()
    .ok()
    .stdout_is(&format!("{work}\n{personal}\n"));
}

/// The real SDK 0.31 through the hook, in two project folders whose `wandb/settings`
/// name different entities, each gets that entity's key for the same server; the
/// server (on 127.0.0.1) told `whoami` which key is whose.
fn the_sdk_through_the_hook_gets_each_projects_key() {
    let mut sb = Sandbox::new();
    let _kr = Keyring::start(&mut sb, Provider::Unlocked);
    let personal = sb.key();
    let work = sb.key();
    let server = FakeServer::start(Reply::EntityPerKey(vec![
        (personal.clone(), "ann".to_owned()),
        (work.clone(), "acme-research".to_owned()),
    ]));
    let host = server.url();
    for (profile, key) in [("personal", &personal), ("work", &work)] {
        sb.cmd(&["login", "--host", &host, "--profile", profile, key])
            .run()
            .ok();
        sb.cmd(&["whoami", "--profile", profile]).run().ok();
    }
    crate::harness::activate_sdk_venv(&mut sb);
    sb.cmd(&["setup-python"]).run().ok();
    let code = format!(
        "from wandb.sdk.lib.wbauth import wbnetrc\nprint(wbnetrc.read_netrc_auth(host={host:?}))\n"
    );
    for (entity, key) in [("ann", &personal), ("acme-research", &work)] {
        let project = sb.work.join(entity);
        std::fs::create_dir_all(project.join("wandb")).unwrap();
        sb.write(
            &project.join("wandb/settings"),
            &format!("[default]\nentity = {entity}\n"),
        );
        let out = sb
            .program("python", &["-c", &code])
            .dir(&project)
            .env("WANDB_SILENT", "true")
            .key_on_stdout()
            .run();
        out.ok();
        assert!(
            out.stdout.contains(key.as_str()),
            "{entity}: {}",
            out.report()
        );
        let other = if key == &work { &personal } else { &work };
        assert!(
            !out.stdout.contains(other.as_str()),
            "{entity}: {}",
            out.report()
        );
    }
    assert!(!sb.netrc().exists(), "a netrc was written");
}

/// Inside `wandb-cred ssh`, a remote command that names no profile gets this machine's
/// default; one that names a profile (WANDB_CRED_PROFILE there) gets that one. A real
/// sshd on 127.0.0.1.
fn a_remote_in_wandb_cred_ssh_chooses_among_this_machines_profiles() {
    let (sb, _kr, personal, work) = two_profiles();
    let sshd = crate::sshd::Sshd::start(&sb.root, "wandbcredremote11");
    let (options, destination) = (sshd.options(), sshd.destination());
    let remote = "wandb-cred get; echo ---; WANDB_CRED_PROFILE=work wandb-cred get";
    sb.cmd(&crate::forward::ssh_args(&options, &destination, remote))
        .key_on_stdout()
        .run()
        .ok()
        .stdout_is(&format!("{personal}\n---\n{work}\n"));
    sb.cmd(&["switch", "work"]).run().ok();
    sb.cmd(&crate::forward::ssh_args(
        &options,
        &destination,
        "wandb-cred get",
    ))
    .key_on_stdout()
    .run()
    .ok()
    .stdout_is(&format!("{work}\n"));
}

/// git's `username=` names the profile; `api` (or none) takes the profile the command
/// would choose. The answer's username stays `api`, as W&B expects.
fn the_git_helper_takes_the_profile_from_the_username() {
    let (sb, _kr, personal, work) = two_profiles();
    let ask = |username: &str, env: &[(&str, &str)]| {
        let mut run = sb
            .cmd(&["git-credential", "get"])
            .stdin(&format!("protocol=https\nhost=api.wandb.ai\n{username}\n"))
            .key_on_stdout();
        for (name, value) in env {
            run = run.env(name, value);
        }
        run.run().ok().stdout.clone()
    };
    assert_eq!(
        ask("username=work", &[]),
        format!("username=api\npassword={work}\n")
    );
    assert_eq!(ask("", &[]), format!("username=api\npassword={personal}\n"));
    assert_eq!(
        ask("username=api", &[("WANDB_CRED_PROFILE", "work")]),
        format!("username=api\npassword={work}\n")
    );
    assert_eq!(ask("username=nobody", &[]), "");
}

/// netrc holds the key of the server's default profile (what the SDK reads): `migrate`
/// moves it into the profile a command would choose, never over a different key
/// unless `--replace` says so; `--profile` names another.
fn migrate_moves_netrc_into_the_profile_a_command_chooses() {
    let (sb, kr, personal, _work) = two_profiles();
    let sdk_login = |key: &str| {
        sb.write(
            &sb.netrc(),
            &format!("machine api.wandb.ai\n  login user\n  password {key}\n"),
        );
    };
    let newer = sb.key();
    sdk_login(&newer);
    // The default (personal) holds another key: nothing moves.
    sb.cmd(&["migrate"])
        .run()
        .fails(1)
        .stderr_has("already holds a different key");
    assert!(sb.read(&sb.netrc()).unwrap().contains(&newer));
    sb.cmd(&["migrate", "--profile", "lab"]).run().ok();
    assert_eq!(
        kr.lookup("https://api.wandb.ai#lab").as_deref(),
        Some(newer.as_str())
    );
    assert!(!sb.read(&sb.netrc()).unwrap_or_default().contains(&newer));
    assert_eq!(get(&sb, &[], &[]), personal);
    // --all moves each server's key into its default profile, with --replace over it.
    let again = sb.key();
    sdk_login(&again);
    sb.cmd(&["migrate", "--all", "--profile", "lab"])
        .run()
        .fails(2)
        .stderr_has("use --host, not --all");
    sb.cmd(&["migrate", "--all", "--replace"]).run().ok();
    assert_eq!(
        kr.lookup("https://api.wandb.ai#personal").as_deref(),
        Some(again.as_str())
    );
    assert_eq!(kr.lookup("https://api.wandb.ai"), None);
    assert_eq!(get(&sb, &[], &[]), again);
}
