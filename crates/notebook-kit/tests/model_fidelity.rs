//! The lesson's model on real CIFAR-10 for one epoch must train like Keras does
//! (Keras: loss 1.8642, accuracy 0.3328 after epoch 1).
//!
//! Reads the CIFAR-10 binary files itself, so that it tests the model alone. Where the data
//! live: `$NOTEBOOK_KIT_DATA/cifar-10-batches-bin/`, else `<repo>/../shared/data/...`.

use std::path::PathBuf;

use notebook_kit::prelude::*;

fn data_root() -> PathBuf {
    std::env::var_os("NOTEBOOK_KIT_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"))
}

/// The five training batches as Keras's `cifar10.load_data()` gives them, scaled and
/// one-hot: `x [50000, 32, 32, 3]` f32 in [0, 1], `y [50000, 10]` f32.
fn cifar10_train() -> (Tensor, Tensor) {
    let dir = data_root().join("cifar-10-batches-bin");
    let mut bytes = Vec::new();
    for i in 1..=5 {
        let path = dir.join(format!("data_batch_{i}.bin"));
        let data = std::fs::read(&path).unwrap_or_else(|e| {
            panic!(
                "CIFAR-10 is needed for this test and {} cannot be read ({e}); set \
                 NOTEBOOK_KIT_DATA to the folder holding cifar-10-batches-bin/",
                path.display()
            )
        });
        assert_eq!(
            data.len(),
            10000 * 3073,
            "{} is not a CIFAR-10 batch",
            path.display()
        );
        bytes.extend(data);
    }
    let records = Tensor::from_slice(&bytes).view([50000, 3073]);
    let y = records.select(1, 0).to_kind(Kind::Int64).onehot(10);
    // Each record stores R, G and B planes of 32x32; Keras's layout is channels-last.
    let x = records
        .narrow(1, 1, 3072)
        .view([50000, 3, 32, 32])
        .permute([0, 2, 3, 1])
        .contiguous();
    (x.to_kind(Kind::Float) / 255.0, y)
}

#[test]
fn lesson_model_one_epoch_like_keras() -> Result<()> {
    let (x, y) = cifar10_train();
    assert_eq!(x.size(), [50000, 32, 32, 3]);
    tch::manual_seed(0);
    let mut model = notebook_kit::models::lesson(Device::Cpu)?;
    let history = model.fit(&x, &y, Fit::epochs(1))?;
    let (loss, accuracy) = (history.loss[0], history.accuracy[0]);
    println!(
        "epoch 1: loss {loss:.4}, accuracy {accuracy:.4}, {:.1} s",
        history.epoch_seconds[0]
    );
    assert!(
        (1.80..=1.95).contains(&loss),
        "loss {loss} outside [1.80, 1.95]"
    );
    assert!(
        (0.28..=0.38).contains(&accuracy),
        "accuracy {accuracy} outside [0.28, 0.38]"
    );
    Ok(())
}
