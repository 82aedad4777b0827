//! The epoch cap (Keras's `set_max_epochs` / `KERAS_MAX_EPOCHS`): `fit` trains at most
//! that many epochs. One test in its own binary: the cap is global to the process.

use notebook_kit::model::max_epochs;
use notebook_kit::prelude::*;

fn tiny_model() -> Result<Sequential> {
    let mut model = Sequential::new()
        .add(Dense::new(4, Relu).input_shape([3]))
        .add(Dense::new(2, Softmax))
        .build(Device::Cpu)?;
    model.compile(Sgd::default(), SparseCategoricalCrossentropy, Accuracy)?;
    Ok(model)
}

fn epochs_trained(asked: usize) -> Result<usize> {
    let x = Tensor::rand([8, 3], (Kind::Float, Device::Cpu));
    let y = Tensor::from_slice(&[0i64, 1, 0, 1, 0, 1, 0, 1]);
    let history = tiny_model()?.fit(&x, &y, Fit::epochs(asked).verbose(0))?;
    Ok(history.epochs())
}

#[test]
fn the_environment_and_the_setter_cap_fit() -> Result<()> {
    // SAFETY (edition 2021: set_var is safe): this binary has one test, so no other thread
    // reads the environment meanwhile.
    std::env::remove_var("NOTEBOOK_KIT_MAX_EPOCHS");
    assert_eq!(max_epochs()?, None);
    assert_eq!(epochs_trained(3)?, 3);

    std::env::set_var("NOTEBOOK_KIT_MAX_EPOCHS", "2");
    assert_eq!(max_epochs()?, Some(2));
    assert_eq!(epochs_trained(5)?, 2);
    assert_eq!(epochs_trained(1)?, 1, "a cap never adds epochs");

    std::env::set_var("NOTEBOOK_KIT_MAX_EPOCHS", "two");
    let err = epochs_trained(5).unwrap_err().to_string();
    assert!(
        err.contains("NOTEBOOK_KIT_MAX_EPOCHS") && err.contains("'two'"),
        "{err}"
    );

    // The setter replaces the environment's value (it keeps the cap there, where every
    // cell's copy of the crate sees it), and None removes the cap.
    set_max_epochs(Some(1))?;
    assert_eq!(std::env::var("NOTEBOOK_KIT_MAX_EPOCHS").as_deref(), Ok("1"));
    assert_eq!(epochs_trained(5)?, 1);
    set_max_epochs(None)?;
    assert!(std::env::var("NOTEBOOK_KIT_MAX_EPOCHS").is_err());
    assert_eq!(max_epochs()?, None);
    assert_eq!(epochs_trained(3)?, 3);
    let err = set_max_epochs(Some(0)).unwrap_err().to_string();
    assert!(err.contains("at least 1"), "{err}");
    Ok(())
}
