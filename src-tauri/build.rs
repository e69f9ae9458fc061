fn main() {
    tauri_build::try_build(
        tauri_build::Attributes::new().capabilities_path_pattern("./src-tauri/capabilities/**/*"),
    )
    .expect("tauri-build: tauri.conf.json, icons/ and ui/dist must be in place (build ui/ first)");
}
