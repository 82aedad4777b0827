//! Where `load_data()` looks: environment variables, the cache, and refusing to fall back
//! when a named folder is wrong.
//!
//! Environment variables belong to the whole process, so this file holds ONE test that
//! walks through the cases in order; nothing else in this test binary reads them.

#[path = "common/data_fixtures.rs"]
mod data_fixtures;

use data_fixtures::*;
use notebook_kit::data::{cache_dir, cifar10, fashion_mnist};
use std::path::{Path, PathBuf};

const VARS: [&str; 7] = [
    "CIFAR10_DIR",
    "FASHION_MNIST_DIR",
    "NOTEBOOK_KIT_DATA",
    "NOTEBOOK_KIT_CACHE",
    "XDG_CACHE_HOME",
    "NOTEBOOK_KIT_OFFLINE",
    "HOME",
];

/// What ureq reads to pick a proxy, and what the kit reads to skip it.
const PROXY_VARS: [&str; 8] = [
    "ALL_PROXY",
    "all_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "NO_PROXY",
    "no_proxy",
];

fn set(name: &str, value: impl AsRef<std::ffi::OsStr>) {
    std::env::set_var(name, value);
}

fn unset(name: &str) {
    std::env::remove_var(name);
}

fn cifar_train_count() -> Result<i64, String> {
    cifar10::load_data()
        .map(|((x, _), _)| x.size()[0])
        .map_err(|e| e.to_string())
}

fn fashion_train_count() -> Result<i64, String> {
    fashion_mnist::load_data()
        .map(|((x, _), _)| x.size()[0])
        .map_err(|e| e.to_string())
}

fn show(p: &Path) -> String {
    p.display().to_string()
}

#[test]
fn search_order_and_named_folders() {
    let home = std::env::var_os("HOME");
    for var in VARS {
        unset(var);
    }
    let tmp = temp_dir();
    let root = tmp.path();

    // --- the cache folder ---
    set("HOME", root.join("home"));
    assert_eq!(
        cache_dir().unwrap(),
        root.join("home/.cache/notebook-kit/datasets")
    );
    set("XDG_CACHE_HOME", root.join("xdg"));
    assert_eq!(cache_dir().unwrap(), root.join("xdg/notebook-kit/datasets"));
    set("NOTEBOOK_KIT_CACHE", root.join("nk"));
    assert_eq!(cache_dir().unwrap(), root.join("nk/datasets"));
    set("NOTEBOOK_KIT_CACHE", ""); // empty counts as unset
    assert_eq!(cache_dir().unwrap(), root.join("xdg/notebook-kit/datasets"));
    set("NOTEBOOK_KIT_CACHE", root.join("cache"));
    let cache = root.join("cache/datasets");

    // --- nothing anywhere, downloads off: an error that says what to do ---
    set("NOTEBOOK_KIT_OFFLINE", "1");
    let err = cifar_train_count().unwrap_err();
    assert!(err.contains("CIFAR-10 is not on this machine"), "{err}");
    assert!(
        err.contains(&show(&cache.join("cifar-10-batches-bin"))),
        "names where it looked: {err}"
    );
    assert!(
        err.contains("CIFAR10_DIR")
            && err.contains("NOTEBOOK_KIT_DATA")
            && err.contains("NOTEBOOK_KIT_OFFLINE"),
        "{err}"
    );

    // --- NOTEBOOK_KIT_OFFLINE reads yes/no words; anything else is an error, not a guess ---
    for value in ["TRUE", " yes ", "On"] {
        set("NOTEBOOK_KIT_OFFLINE", value);
        let err = cifar_train_count().unwrap_err();
        assert!(err.contains("downloads are off"), "{value:?}: {err}");
    }
    set("NOTEBOOK_KIT_OFFLINE", "maybe");
    let err = cifar_train_count().unwrap_err();
    assert!(
        err.contains("NOTEBOOK_KIT_OFFLINE=\"maybe\"") && err.contains("not understood"),
        "{err}"
    );
    // Words for "online" start the download; through a proxy on a closed port (which also
    // shows the proxy variables are read) it fails at once instead of reaching the internet.
    let closed_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    for var in PROXY_VARS {
        unset(var);
    }
    set("HTTPS_PROXY", format!("http://127.0.0.1:{closed_port}"));
    for value in ["false", "No", " off ", "0", ""] {
        set("NOTEBOOK_KIT_OFFLINE", value);
        let err = cifar_train_count().unwrap_err();
        assert!(
            err.contains(&format!("download of {} failed", cifar10::URL)),
            "{value:?}: {err}"
        );
    }
    unset("HTTPS_PROXY");
    assert!(
        list_tree(&cache).is_empty(),
        "failed downloads leave nothing: {:?}",
        list_tree(&cache)
    );
    set("NOTEBOOK_KIT_OFFLINE", "1");

    // --- the cache ---
    write_cifar_dir(&cache.join("cifar-10-batches-bin"), 1, 1);
    assert_eq!(cifar_train_count(), Ok(5));

    // --- CIFAR10_DIR wins over the cache ---
    let named = root.join("named-cifar");
    write_cifar_dir(&named, 2, 1);
    set("CIFAR10_DIR", &named);
    assert_eq!(cifar_train_count(), Ok(10));

    // --- a named folder that is wrong is an error, even though the cache has the data ---
    set("CIFAR10_DIR", root.join("typo"));
    let err = cifar_train_count().unwrap_err();
    assert!(
        err.contains(&show(&root.join("typo"))) && err.contains("from $CIFAR10_DIR"),
        "{err}"
    );
    assert!(
        err.contains("Set CIFAR10_DIR to a folder holding data_batch_1.bin"),
        "says what to do: {err}"
    );
    std::fs::remove_file(named.join("data_batch_2.bin")).unwrap();
    set("CIFAR10_DIR", &named);
    let err = cifar_train_count().unwrap_err();
    assert!(
        err.contains(&show(&named.join("data_batch_2.bin"))) && err.contains("incomplete"),
        "{err}"
    );

    // --- NOTEBOOK_KIT_DATA: a root holding both sets; the specific variable wins ---
    let data_root = root.join("data");
    write_cifar_dir(&data_root.join("cifar-10-batches-bin"), 3, 1);
    write_fashion_dir(&data_root.join("fashion-mnist"), 4, 2, true);
    set("NOTEBOOK_KIT_DATA", &data_root);
    let err = cifar_train_count().unwrap_err();
    assert!(err.contains("CIFAR10_DIR"), "CIFAR10_DIR still wins: {err}");
    unset("CIFAR10_DIR");
    assert_eq!(cifar_train_count(), Ok(15));
    assert_eq!(fashion_train_count(), Ok(4));

    let fashion_named = root.join("named-fashion");
    write_fashion_dir(&fashion_named, 6, 2, false);
    set("FASHION_MNIST_DIR", &fashion_named);
    assert_eq!(fashion_train_count(), Ok(6));
    set("FASHION_MNIST_DIR", root.join("nope"));
    let err = fashion_train_count().unwrap_err();
    assert!(
        err.contains(&show(&root.join("nope"))) && err.contains("from $FASHION_MNIST_DIR"),
        "{err}"
    );
    unset("FASHION_MNIST_DIR");

    // A root without the set's folder is an error naming the folder, not a download.
    let half_root = root.join("half");
    write_fashion_dir(&half_root.join("fashion-mnist"), 2, 2, true);
    set("NOTEBOOK_KIT_DATA", &half_root);
    let err = cifar_train_count().unwrap_err();
    assert!(
        err.contains(&show(&half_root.join("cifar-10-batches-bin")))
            && err.contains("NOTEBOOK_KIT_DATA"),
        "{err}"
    );
    assert_eq!(fashion_train_count(), Ok(2));
    unset("NOTEBOOK_KIT_DATA");

    // --- Fashion-MNIST from the cache (unless the Debian package is installed, which comes first) ---
    let debian = PathBuf::from(fashion_mnist::DEBIAN_DIR);
    if !debian.is_dir() {
        let err = fashion_train_count().unwrap_err();
        assert!(
            err.contains(&show(&debian)) && err.contains(&show(&cache.join("fashion-mnist"))),
            "{err}"
        );
        write_fashion_dir(&cache.join("fashion-mnist"), 3, 1, true);
        assert_eq!(fashion_train_count(), Ok(3));
    }

    unset("NOTEBOOK_KIT_OFFLINE");
    if let Some(home) = home {
        set("HOME", home);
    }
}
