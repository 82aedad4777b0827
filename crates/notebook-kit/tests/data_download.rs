//! Downloading, checking and unpacking, against a local HTTP server the tests start.

#[path = "common/data_fixtures.rs"]
mod data_fixtures;

use data_fixtures::*;
use notebook_kit::data::download::{download_file, extract_tar_gz, md5_file};
use notebook_kit::data::{cifar10, fashion_mnist};
use notebook_kit::Error;

fn body(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

#[test]
fn downloads_checks_and_reports_progress_in_whole_lines() {
    let data = body(3_000_000);
    let base = serve(vec![("/file.bin".into(), Reply::Body(data.clone()))]);
    let dir = temp_dir();
    let dest = dir.path().join("sub/file.bin");
    let mut log = Vec::new();
    download_file(
        &format!("{base}/file.bin"),
        &md5_hex(&data).to_uppercase(),
        &dest,
        &mut log,
    )
    .unwrap();

    assert_eq!(std::fs::read(&dest).unwrap(), data);
    assert_eq!(
        list_tree(&dir.path().join("sub")),
        ["file.bin"],
        "no temporary files left"
    );
    let log = String::from_utf8(log).unwrap();
    assert!(!log.contains('\r'), "evcxr shows whole lines only: {log:?}");
    let lines: Vec<&str> = log.lines().collect();
    assert!(
        lines[0].starts_with("Downloading http://127.0.0.1:") && lines[0].contains("(2.9 MiB)"),
        "{log}"
    );
    assert!(lines.iter().any(|l| l.contains("100%")), "{log}");
    assert!(lines.len() <= 13, "at most one line per 10 %: {log}");
    assert!(lines.last().unwrap().contains("MD5 ok"), "{log}");
}

#[test]
fn checksum_mismatch_leaves_nothing_behind() {
    let data = body(10_000);
    let base = serve(vec![("/f".into(), Reply::Body(data))]);
    let dir = temp_dir();
    let dest = dir.path().join("f.bin");
    let wrong = "00000000000000000000000000000000";
    let url = format!("{base}/f");
    let err = download_file(&url, wrong, &dest, &mut Vec::new()).unwrap_err();
    assert!(matches!(err, Error::Download { .. }), "{err:?}");
    // The URL and both digests; not `dest`, which was never written.
    let text = err.to_string();
    assert!(
        text.contains(&url)
            && text.contains(&format!(
                "expected MD5 {wrong}, got {}",
                md5_hex(&body(10_000))
            ))
            && text.contains("nothing was saved")
            && !text.contains("f.bin"),
        "{text}"
    );
    assert!(
        list_tree(dir.path()).is_empty(),
        "left {:?}",
        list_tree(dir.path())
    );
}

#[test]
fn interrupted_download_leaves_nothing_behind() {
    let data = body(500_000);
    let md5 = md5_hex(&data);
    let base = serve(vec![(
        "/cut".into(),
        Reply::Truncated {
            body: data[..200_000].to_vec(),
            claimed: data.len(),
        },
    )]);
    let dir = temp_dir();
    let dest = dir.path().join("cut.bin");
    let err = download_file(&format!("{base}/cut"), &md5, &dest, &mut Vec::new()).unwrap_err();
    assert!(matches!(err, Error::Download { .. }), "{err:?}");
    assert!(err.to_string().contains("/cut"), "names the URL: {err}");
    assert!(
        list_tree(dir.path()).is_empty(),
        "left {:?}",
        list_tree(dir.path())
    );
}

#[test]
fn http_error_status_is_a_download_error() {
    let base = serve(vec![]);
    let dir = temp_dir();
    let err = download_file(
        &format!("{base}/missing"),
        "x",
        &dir.path().join("m"),
        &mut Vec::new(),
    )
    .unwrap_err();
    assert!(matches!(err, Error::Download { .. }), "{err:?}");
    assert!(err.to_string().contains("HTTP 404"), "{err}");
    assert!(list_tree(dir.path()).is_empty());
}

#[test]
fn unreachable_server_is_a_download_error() {
    // Bind then drop a listener to get a port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = temp_dir();
    let err = download_file(
        &format!("http://127.0.0.1:{port}/x"),
        "x",
        &dir.path().join("x"),
        &mut Vec::new(),
    )
    .unwrap_err();
    assert!(matches!(err, Error::Download { .. }), "{err:?}");
    assert!(list_tree(dir.path()).is_empty());
}

#[test]
fn extracts_a_folder_into_place_and_replaces_an_old_copy() {
    let src = temp_dir();
    write_cifar_dir(&src.path().join("cifar-10-batches-bin"), 1, 1);
    let dir = temp_dir();
    let archive = dir.path().join("a.tar.gz");
    std::fs::write(
        &archive,
        tar_gz_dir(
            &src.path().join("cifar-10-batches-bin"),
            "cifar-10-batches-bin",
        ),
    )
    .unwrap();
    let dest = dir.path().join("out");
    std::fs::create_dir(&dest).unwrap();
    std::fs::write(dest.join("stale.txt"), "old").unwrap();

    extract_tar_gz(&archive, "cifar-10-batches-bin", &dest, &["test_batch.bin"]).unwrap();
    assert!(dest.join("data_batch_5.bin").is_file());
    assert!(!dest.join("stale.txt").exists());
    assert_eq!(
        list_tree(dir.path())
            .iter()
            .filter(|p| !p.starts_with("out"))
            .count(),
        1,
        "only the archive besides out/"
    );
}

#[test]
fn archive_without_the_folder_or_files_is_an_error_and_changes_nothing() {
    let src = temp_dir();
    write_cifar_dir(src.path(), 1, 1);
    let dir = temp_dir();
    let archive = dir.path().join("a.tar.gz");
    std::fs::write(&archive, tar_gz_dir(src.path(), "other-name")).unwrap();
    let dest = dir.path().join("out");

    let err =
        extract_tar_gz(&archive, "cifar-10-batches-bin", &dest, &["test_batch.bin"]).unwrap_err();
    assert!(
        err.to_string().contains("a.tar.gz")
            && err
                .to_string()
                .contains("cifar-10-batches-bin/test_batch.bin"),
        "{err}"
    );
    let err = extract_tar_gz(&archive, "other-name", &dest, &["nope.bin"]).unwrap_err();
    assert!(err.to_string().contains("other-name/nope.bin"), "{err}");
    assert_eq!(list_tree(dir.path()), ["a.tar.gz"]);
}

#[test]
fn corrupt_archive_is_an_error_and_leaves_nothing() {
    let dir = temp_dir();
    let archive = dir.path().join("bad.tar.gz");
    std::fs::write(
        &archive,
        gzip(b"not a tar file, just some bytes that go on for a while......."),
    )
    .unwrap();
    let err = extract_tar_gz(&archive, "x", &dir.path().join("out"), &[]).unwrap_err();
    assert!(err.to_string().contains("bad.tar.gz"), "{err}");
    assert_eq!(list_tree(dir.path()), ["bad.tar.gz"]);
}

#[test]
fn cifar10_download_into_fetches_checks_unpacks_and_loads() {
    let src = temp_dir();
    write_cifar_dir(src.path(), 2, 3);
    let archive = tar_gz_dir(src.path(), "cifar-10-batches-bin");
    let base = serve(vec![(
        "/cifar-10-binary.tar.gz".into(),
        Reply::Body(archive.clone()),
    )]);
    let cache = temp_dir();
    let datasets = cache.path().join("datasets");

    let dir = cifar10::download_into(
        &datasets,
        &format!("{base}/cifar-10-binary.tar.gz"),
        &md5_hex(&archive),
    )
    .unwrap();
    assert_eq!(dir, datasets.join("cifar-10-batches-bin"));
    let ((x_train, _), (x_test, _)) = cifar10::load_data_from(&dir).unwrap();
    assert_eq!(x_train.size(), [10, 32, 32, 3]);
    assert_eq!(x_test.size(), [3, 32, 32, 3]);
    assert_eq!(
        list_tree(&datasets)
            .iter()
            .filter(|p| !p.contains('/'))
            .collect::<Vec<_>>(),
        ["cifar-10-batches-bin"]
    );
}

#[test]
fn cifar10_download_with_wrong_checksum_leaves_the_cache_empty() {
    let src = temp_dir();
    write_cifar_dir(src.path(), 1, 1);
    let archive = tar_gz_dir(src.path(), "cifar-10-batches-bin");
    let base = serve(vec![("/a.tar.gz".into(), Reply::Body(archive))]);
    let cache = temp_dir();
    let err = cifar10::download_into(cache.path(), &format!("{base}/a.tar.gz"), cifar10::MD5)
        .unwrap_err();
    assert!(
        matches!(err, Error::Download { .. }) && err.to_string().contains("checksum mismatch"),
        "{err:?}"
    );
    assert!(
        list_tree(cache.path()).is_empty(),
        "left {:?}",
        list_tree(cache.path())
    );
}

#[test]
fn fashion_download_into_fetches_each_missing_file() {
    let files = fashion_file_bytes(6, 2, true);
    let routes = files
        .iter()
        .map(|(name, bytes)| (format!("/fm/{name}"), Reply::Body(bytes.clone())))
        .collect();
    let base = serve(routes);
    let md5s: Vec<(String, String)> = files.iter().map(|(n, b)| (n.clone(), md5_hex(b))).collect();
    let md5s: Vec<(&str, &str)> = md5s.iter().map(|(n, m)| (n.as_str(), m.as_str())).collect();
    let dir = temp_dir();
    let target = dir.path().join("fashion-mnist");

    let got = fashion_mnist::download_into(&target, &format!("{base}/fm/"), &md5s).unwrap();
    assert_eq!(got, target);
    let ((x_train, y_train), _) = fashion_mnist::load_data_from(&target).unwrap();
    assert_eq!(x_train.size(), [6, 28, 28]);
    assert_eq!(y_train.size(), [6]);
    for (name, md5) in &md5s {
        assert_eq!(&md5_file(&target.join(name)).unwrap(), md5);
    }
    assert_eq!(list_tree(&target).len(), 4, "no temporary files left");
}

#[test]
fn fashion_download_stops_at_a_bad_file_and_keeps_only_checked_ones() {
    let files = fashion_file_bytes(6, 2, true);
    let mut routes: Vec<(String, Reply)> = files
        .iter()
        .map(|(name, bytes)| (format!("/{name}"), Reply::Body(bytes.clone())))
        .collect();
    // The third file is cut short.
    routes[2].1 = Reply::Truncated {
        body: files[2].1[..10].to_vec(),
        claimed: files[2].1.len(),
    };
    let base = serve(routes);
    let md5s: Vec<(String, String)> = files.iter().map(|(n, b)| (n.clone(), md5_hex(b))).collect();
    let md5s: Vec<(&str, &str)> = md5s.iter().map(|(n, m)| (n.as_str(), m.as_str())).collect();
    let dir = temp_dir();

    let err = fashion_mnist::download_into(dir.path(), &base, &md5s).unwrap_err();
    assert!(
        err.to_string().contains("t10k-images-idx3-ubyte.gz"),
        "{err}"
    );
    assert_eq!(
        list_tree(dir.path()),
        ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"]
    );
}
