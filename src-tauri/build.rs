//! Build script: lets Tauri read `tauri.conf.json`, the capabilities and the icons at compile time.

fn main() {
    tauri_build::build();
}
