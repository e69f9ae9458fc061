//! The TypeScript bindings the web view calls the commands through are
//! generated from the Rust command signatures and committed. This test fails
//! when they drift; `UPDATE_BINDINGS=1 cargo test -p costcarve-desktop --test
//! bindings` writes them anew.

#[test]
fn committed_bindings_match_the_commands() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("ui/src/bindings.ts");
    let generated = costcarve_desktop::bindings().expect("bindings generate");
    if std::env::var_os("UPDATE_BINDINGS").is_some() {
        std::fs::write(&path, &generated).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "ui/src/bindings.ts is out of date with the Rust commands: run \
         `UPDATE_BINDINGS=1 cargo test -p costcarve-desktop --test bindings` and commit it"
    );
}
