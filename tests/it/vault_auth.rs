//! Vault logins the way clusters do them (AppRole, JWT as Kubernetes gives it, token
//! renewal while the daemon serves), and the clusters guide's Vault recipes run as
//! written, against a real OpenBao server ([`crate::bao`]).

use std::time::{Duration, Instant};

use libtest_mimic::Trial;

use crate::bao::{Bao, ROOT, key_pair, machine, sign_jwt};
use crate::harness::{Need, Sandbox};
use crate::trials;

pub fn tests() -> Vec<Trial> {
    let mut all = trials![[Need::Bao]; the_daemon_renews_its_token_while_it_serves];
    all.extend(trials![[Need::Bao, Need::OpenSsl]; approle_and_jwt_logins_get_a_token]);
    all.extend(trials![[Need::Bao, Need::OpenSsl, Need::Python];
        the_clusters_guide_recipes_run_as_written
    ]);
    all
}

fn approle_and_jwt_logins_get_a_token() {
    let laptop = Sandbox::new();
    let bao = Bao::start(&laptop.root);
    let admin = machine(&bao, ROOT);
    let key = admin.key();
    admin.cmd(&["login", &key]).run().ok();
    let policy = crate::doc_blocks::recipe("vault-policy");
    let out = bao.bao_as(
        ROOT,
        &["policy", "write", "wandb-readers", "-"],
        Some(&policy),
    );
    assert!(out.status.success());
    // AppRole, as a batch job or CI runner logs in: ids in files only it can read.
    bao.ok(&["auth", "enable", "approle"]);
    bao.ok(&[
        "write",
        "auth/approle/role/training",
        "token_policies=wandb-readers",
        "token_ttl=1h",
    ]);
    let role_id = bao.ok(&[
        "read",
        "-field=role_id",
        "auth/approle/role/training/role-id",
    ]);
    let secret_id = bao.ok(&[
        "write",
        "-f",
        "-field=secret_id",
        "auth/approle/role/training/secret-id",
    ]);
    let job = Sandbox::new();
    let (role_file, secret_file) = (job.root.join("role-id"), job.root.join("secret-id"));
    std::fs::write(&role_file, role_id.trim()).unwrap();
    std::fs::write(&secret_file, secret_id.trim()).unwrap();
    job.secret(secret_id.trim().to_owned());
    job.cmd(&["get"])
        .env("WANDB_CRED_BACKEND", "vault")
        .env("VAULT_ADDR", &bao.address)
        .env("WANDB_CRED_VAULT_ROLE_ID_FILE", role_file.to_str().unwrap())
        .env(
            "WANDB_CRED_VAULT_SECRET_ID_FILE",
            secret_file.to_str().unwrap(),
        )
        .key_on_stdout()
        .run()
        .ok()
        .stdout_is(&format!("{key}\n"));
    // JWT (as Kubernetes' service-account tokens): a key pair, its public half given
    // to the server, a token signed with the private half.
    let keys = job.root.join("jwt");
    let (private, public) = key_pair(&keys);
    bao.ok(&["auth", "enable", "jwt"]);
    let pem = std::fs::read_to_string(&public).unwrap();
    bao.ok(&[
        "write",
        "auth/jwt/config",
        &format!("jwt_validation_pubkeys={pem}"),
    ]);
    bao.ok(&[
        "write",
        "auth/jwt/role/trainer",
        "role_type=jwt",
        "bound_audiences=wandb-cred",
        "user_claim=sub",
        "token_policies=wandb-readers",
        "token_ttl=1h",
    ]);
    let jwt = sign_jwt(&private, &keys);
    let jwt_file = keys.join("token");
    std::fs::write(&jwt_file, &jwt).unwrap();
    job.secret(jwt);
    job.cmd(&["get"])
        .env("WANDB_CRED_BACKEND", "vault")
        .env("VAULT_ADDR", &bao.address)
        .env("WANDB_CRED_VAULT_JWT_FILE", jwt_file.to_str().unwrap())
        .env("WANDB_CRED_VAULT_ROLE", "trainer")
        .key_on_stdout()
        .run()
        .ok()
        .stdout_is(&format!("{key}\n"));
}

/// A token that lives 3 seconds unless renewed: the daemon renews it while it serves,
/// so gets keep working well past its first expiry.
fn the_daemon_renews_its_token_while_it_serves() {
    let laptop = Sandbox::new();
    let bao = Bao::start(&laptop.root);
    let admin = machine(&bao, ROOT);
    let key = admin.key();
    admin.cmd(&["login", &key]).run().ok();
    let token = bao
        .ok(&[
            "token",
            "create",
            "-field=token",
            "-policy=root",
            "-ttl=3s",
            "-explicit-max-ttl=120s",
        ])
        .trim()
        .to_owned();
    let mut node = machine(&bao, &token);
    node.set_env("WANDB_CRED_VAULT_CACHE", "1s");
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(8) {
        node.get_gives(&key);
        std::thread::sleep(Duration::from_millis(400));
    }
    // Without renewal the same token is dead by now.
    let lookup = bao.bao_as(&token, &["token", "lookup"], None);
    assert!(
        lookup.status.success(),
        "the token expired: it was not renewed"
    );
}

/// The clusters guide's Vault recipes, as written but for the server's address (and the
/// service-account token's path): the admin's login at the hidden prompt, a Slurm job
/// (stand-ins for `sbatch` and `srun`, as in recipes.rs), CI with AppRole, and a pod
/// with a JWT auth method mounted at `kubernetes`.
fn the_clusters_guide_recipes_run_as_written() {
    let laptop = Sandbox::new();
    let bao = Bao::start(&laptop.root);
    let ours = |text: String| text.replace("https://vault.example.com", &bao.address);
    // The admin stores the key once.
    let mut admin = Sandbox::new();
    admin.set_env("VAULT_TOKEN", ROOT);
    admin.bin_dir();
    let key = admin.key();
    let mut pty = crate::pty::Pty::spawn(
        admin
            .program(
                "bash",
                &["-c", &ours(crate::doc_blocks::recipe("vault-login"))],
            )
            .env("TERM", "xterm")
            .command(),
    );
    pty.expect_from(0, "Paste your API key and hit enter: ");
    pty.wait_for_hidden_input();
    pty.type_line(&key);
    let (status, transcript) = pty.finish();
    assert!(status.success(), "{transcript}");
    assert!(transcript.contains("in Vault"), "{transcript}");
    // What the job's python prints: the key it was given.
    let node = |sb: &mut Sandbox| {
        let python3 = crate::harness::python("import sys; print(sys.executable)", &[]);
        std::os::unix::fs::symlink(python3.trim(), sb.bin_dir().join("python")).unwrap();
        sb.write(
            &sb.work.join("train.py"),
            "import os\nprint('key', os.environ.get('WANDB_API_KEY'))\n",
        );
    };
    let expected = format!("key {key}\n");
    // Slurm: the job resolves the key on the node.
    let mut slurm = Sandbox::new();
    node(&mut slurm);
    slurm.set_env("VAULT_TOKEN", ROOT);
    slurm.script("srun", "#!/bin/sh\nexec \"$@\"\n");
    slurm.write(
        &slurm.work.join("train.sbatch"),
        &ours(crate::doc_blocks::recipe("vault-sbatch")),
    );
    let out = slurm
        .program("bash", &["train.sbatch"])
        .key_on_stdout()
        .run();
    out.ok();
    assert_eq!(out.stdout, expected);
    // CI with AppRole.
    let policy = crate::doc_blocks::recipe("vault-policy");
    assert!(
        bao.bao_as(
            ROOT,
            &["policy", "write", "wandb-readers", "-"],
            Some(&policy)
        )
        .status
        .success()
    );
    bao.ok(&["auth", "enable", "approle"]);
    bao.ok(&[
        "write",
        "auth/approle/role/ci",
        "token_policies=wandb-readers",
        "token_ttl=10m",
    ]);
    let mut ci = Sandbox::new();
    node(&mut ci);
    let temp = ci.root.join("runner-temp");
    std::fs::create_dir_all(&temp).unwrap();
    let role_id = bao.ok(&["read", "-field=role_id", "auth/approle/role/ci/role-id"]);
    let secret_id = bao.ok(&[
        "write",
        "-f",
        "-field=secret_id",
        "auth/approle/role/ci/secret-id",
    ]);
    std::fs::write(temp.join("role-id"), role_id.trim()).unwrap();
    std::fs::write(temp.join("secret-id"), secret_id.trim()).unwrap();
    ci.secret(secret_id.trim().to_owned());
    ci.set_env("RUNNER_TEMP", temp.to_str().unwrap());
    let out = ci
        .program(
            "bash",
            &["-euc", &ours(crate::doc_blocks::recipe("vault-ci"))],
        )
        .key_on_stdout()
        .run();
    out.ok();
    assert_eq!(out.stdout, expected);
    // Kubernetes: a JWT auth method at `kubernetes`, the pod's token in a file.
    let mut pod = Sandbox::new();
    node(&mut pod);
    let keys = pod.root.join("sa");
    let (private, public) = key_pair(&keys);
    bao.ok(&["auth", "enable", "-path=kubernetes", "jwt"]);
    let pem = std::fs::read_to_string(&public).unwrap();
    bao.ok(&[
        "write",
        "auth/kubernetes/config",
        &format!("jwt_validation_pubkeys={pem}"),
    ]);
    bao.ok(&[
        "write",
        "auth/kubernetes/role/trainer",
        "role_type=jwt",
        "bound_audiences=wandb-cred",
        "user_claim=sub",
        "token_policies=wandb-readers",
    ]);
    let jwt = sign_jwt(&private, &keys);
    let token_file = keys.join("token");
    std::fs::write(&token_file, &jwt).unwrap();
    pod.secret(jwt);
    let script = ours(crate::doc_blocks::recipe("vault-kubernetes")).replace(
        "/var/run/secrets/kubernetes.io/serviceaccount/token",
        token_file.to_str().unwrap(),
    );
    let out = pod
        .program("bash", &["-euc", &script])
        .key_on_stdout()
        .run();
    out.ok();
    assert_eq!(out.stdout, expected);
}
