//! Checks that the committed C header matches what cbindgen generates from
//! `src/ffi.rs`. Run with `UPDATE_C_HEADER=1` to rewrite it.

use std::path::Path;

#[test]
fn committed_header_is_current() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")).unwrap();
    let mut generated = Vec::new();
    cbindgen::Builder::new()
        .with_crate(crate_dir)
        .with_config(config)
        .generate()
        .expect("cbindgen failed to read the crate")
        .write(&mut generated);
    let generated = String::from_utf8(generated).unwrap();

    let header_path = crate_dir.join("go-shim/pagerduty_core.h");
    if std::env::var_os("UPDATE_C_HEADER").is_some() {
        std::fs::write(&header_path, &generated).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&header_path).unwrap_or_default();
    assert!(
        committed == generated,
        "go-shim/pagerduty_core.h is stale; run `make header` and commit the result"
    );
}
