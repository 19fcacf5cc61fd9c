//! Browser test of the key file (specs/client-api.md, "Key export file"): the passphrase-protected
//! file moves the identity to a fresh browser (a wrong passphrase is refused), and it is the
//! command line's file both ways. Skipped with a SKIP line when Chromium is missing, unless
//! `CAUSERIE_REQUIRE_BROWSER=1`.

use causerie_crypto::{KeyExport, UserSecret};
use causerie_tests::api::ApiUser;
use causerie_tests::browser::DEFAULT_WAIT;
use causerie_tests::browser::chat::ChatTest;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_export_and_import_move_the_identity() {
    let Some(test) = ChatTest::start("key_export_and_import_move_the_identity", 1).await else {
        return;
    };
    let node = test.node(0);
    let passphrase = "correct horse battery staple";

    // Dave's first browser: identity, a room, a message, then the key file.
    let first = test.open("dave-first", 0).await;
    let user = first.create_identity("dave", "Dave").await;
    let room = first.create_room("Dave's room", true).await;
    let before = "sent from the first browser";
    first.send(before).await;
    let downloaded = first.export_key(passphrase).await;
    first.shot("key exported").await;
    // The download goes with the first browser's directory; the user keeps the file.
    let kept = tempfile::tempdir().expect("temp dir");
    let file = kept.path().join("causerie-dave.json");
    std::fs::copy(&downloaded, &file).expect("keep the key file");
    let text = std::fs::read_to_string(&file).expect("key file");
    let export: Value = serde_json::from_str(&text).expect("key file is JSON");
    // The file of specs/client-api.md, "Key export file": the seed only in encrypted form.
    assert_eq!(export["causerie_key_export"], json!(1), "{export}");
    assert_eq!(export["user"], json!(user), "{export}");
    assert_eq!(export["kdf"], json!("pbkdf2-sha256"), "{export}");
    assert_eq!(export["cipher"], json!("aes-256-gcm"), "{export}");
    assert!(
        export["iterations"].as_u64().is_some_and(|i| i >= 100_000),
        "{export}"
    );
    assert_eq!(
        export["ciphertext"].as_str().map(str::len),
        Some(96),
        "{export}"
    );
    // The command line reads the same file: the browser's key opens in Rust.
    let opened = KeyExport::from_json(text.as_bytes())
        .and_then(|file| file.open(passphrase))
        .unwrap_or_else(|e| panic!("the CLI's reader refuses the browser's file: {e}"));
    assert_eq!(hex::encode(opened.public().as_bytes()), user);
    first.close().await;

    // A fresh browser: import the file; a wrong passphrase is refused and asked again.
    let second = test.open("dave-second", 0).await;
    second.choose_key_file(&file).await;
    second.answer_passphrase("wrong passphrase").await;
    second
        .wait_until(
            "the wrong passphrase to be refused",
            "// The reason is shown, and the prompt is back, emptied, for another try.
             const input = document.querySelector('#passphrase-input');
             return document.body.textContent.includes('wrong_passphrase')
                 && document.querySelector('#passphrase-dialog').open
                 && input.getClientRects().length > 0 && input.value === '';",
        )
        .await;
    second.shot("wrong passphrase refused").await;
    second.answer_passphrase(passphrase).await;
    let imported = second.wait_me("dave").await;
    assert_eq!(imported, user, "the same identity in the second browser");
    second.wait_active_room_or_select(&room).await;
    second.wait_message(before, DEFAULT_WAIT).await;
    let after = "sent from the second browser";
    second.send(after).await;
    second.shot("imported identity sends").await;

    second.close().await;

    // And the other way: a key registered from Rust, its file written by the command line's
    // code, imports in a browser, which logs in as that user.
    let secret = UserSecret::generate().expect("key");
    let frank = hex::encode(secret.public().as_bytes());
    let sealed = KeyExport::seal(&secret, passphrase).expect("seal");
    let cli_file = kept.path().join("causerie-frank.json");
    std::fs::write(&cli_file, sealed.to_json()).expect("write the CLI's key file");
    ApiUser::register_key(node, secret, "frank", "Frank").await;
    let third = test.open("frank", 0).await;
    third.choose_key_file(&cli_file).await;
    third.answer_passphrase(passphrase).await;
    let logged_in = third.wait_me("frank").await;
    assert_eq!(
        logged_in, frank,
        "the browser logs in with the imported key"
    );
    third.shot("cli key imported").await;
    third.close().await;

    test.finish().await;
}
