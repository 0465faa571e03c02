fn main() {
    #[cfg(feature = "desktop")]
    {
        // Capabilities live under src-tauri/; without the pattern tauri-build watches a missing
        // ./capabilities folder and rebuilds every time.
        println!("cargo:rerun-if-changed=src-tauri/capabilities");
        println!("cargo:rerun-if-changed=tauri.conf.json");
        let attributes = tauri_build::Attributes::new()
            .capabilities_path_pattern("src-tauri/capabilities/**/*.json");
        if let Err(error) = tauri_build::try_build(attributes) {
            panic!("tauri-build failed: {error:#}");
        }
    }
}
