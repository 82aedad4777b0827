//! Every figure is checked as a decoded PNG: its size, and pixels that must show the data.

use notebook_kit::display::{
    confusion_matrix, plot_confusion_matrix, plot_history, plot_prediction, plot_sample,
    plot_sample_with, plot_samples, Figure, Html,
};
use notebook_kit::model::History;
use tch::{Device, Kind, Tensor};

use notebook_kit::data::cifar10::CLASSES;
const WHITE: [u8; 3] = [255, 255, 255];
const BLUE: [u8; 3] = [31, 119, 180];
const ORANGE: [u8; 3] = [255, 127, 14];

/// The colour channel `c` of pixel (`row`, `col`) of image `i` in [`cifar_like`].
fn source(i: i64, row: i64, col: i64, c: i64) -> u8 {
    ((i * 11 + row * 7 + col * 3 + c * 37) % 256) as u8
}

/// `[n, 32, 32, 3]` u8 images whose every pixel is known, and labels `i % 10` as `[n, 1]`.
fn cifar_like(n: i64) -> (Tensor, Tensor) {
    let mut bytes = Vec::new();
    for i in 0..n {
        for row in 0..32 {
            for col in 0..32 {
                for c in 0..3 {
                    bytes.push(source(i, row, col, c));
                }
            }
        }
    }
    let x = Tensor::from_slice(&bytes).view([n, 32, 32, 3]);
    let y = Tensor::arange(n, (Kind::Int64, Device::Cpu))
        .remainder(10)
        .to_kind(Kind::Uint8)
        .view([n, 1]);
    (x, y)
}

/// The figure after a round trip through PNG, as the notebook receives it.
fn decoded(figure: &Figure) -> image::RgbImage {
    let png = figure.to_png().unwrap();
    assert_eq!(&png[1..4], b"PNG");
    let image = image::load_from_memory(&png).unwrap().to_rgb8();
    assert_eq!(image.dimensions(), (figure.width(), figure.height()));
    assert_eq!(image.as_raw().as_slice(), figure.rgb());
    image
}

fn pixel(image: &image::RgbImage, x: u32, y: u32) -> [u8; 3] {
    image.get_pixel(x, y).0
}

/// Pixels in a band of rows that are clearly darker than the background: text was drawn.
fn dark_pixels(image: &image::RgbImage, rows: std::ops::Range<u32>) -> usize {
    rows.flat_map(|y| (0..image.width()).map(move |x| (x, y)))
        .filter(|(x, y)| image.get_pixel(*x, *y).0.iter().all(|c| *c < 128))
        .count()
}

#[test]
fn cifar_sample_is_enlarged_4x_nearest_neighbour() {
    let (x, _) = cifar_like(3);
    let image = decoded(&plot_sample(&x, 2).unwrap());
    assert_eq!(image.dimensions(), (128, 128));
    for (row, col) in [(0, 0), (5, 17), (31, 31), (12, 3)] {
        let expected = [0, 1, 2].map(|c| source(2, row, col, c));
        for (dx, dy) in [(0, 0), (3, 3), (1, 2)] {
            assert_eq!(
                pixel(&image, col as u32 * 4 + dx, row as u32 * 4 + dy),
                expected,
                "({row}, {col})"
            );
        }
    }
}

#[test]
fn scaled_float_images_look_like_their_bytes() {
    let (x, _) = cifar_like(2);
    let scaled = x.to_kind(Kind::Float) / 255.0;
    assert_eq!(
        plot_sample(&scaled, 1).unwrap(),
        plot_sample(&x, 1).unwrap()
    );
}

#[test]
fn fashion_sample_is_grey_and_5x() {
    let values: Vec<f32> = (0..2 * 28 * 28).map(|i| (i % 256) as f32 / 255.0).collect();
    let x = Tensor::from_slice(&values).view([2, 28, 28]);
    let image = decoded(&plot_sample(&x, 1).unwrap());
    assert_eq!(image.dimensions(), (140, 140));
    let expected = ((28 * 28 + 3 * 28 + 9) % 256) as u8; // image 1, row 3, column 9
    assert_eq!(pixel(&image, 9 * 5 + 2, 3 * 5 + 4), [expected; 3]);
}

#[test]
fn captioned_sample_has_its_class_underneath() {
    let (x, y) = cifar_like(10);
    let image = decoded(&plot_sample_with(&x, &y, &CLASSES, 6).unwrap());
    assert_eq!(image.height(), 128 + 24);
    assert!(image.width() >= 128);
    let left = (image.width() - 128) / 2;
    assert_eq!(
        pixel(&image, left + 4 * 10, 4 * 20),
        [0, 1, 2].map(|c| source(6, 20, 10, c))
    );
    // "6: frog" is drawn in the band below the image.
    assert!(dark_pixels(&image, 128..152) > 20);
}

#[test]
fn five_samples_make_one_row() {
    let (x, y) = cifar_like(10);
    let image = decoded(&plot_samples(&x, &y, &CLASSES, 0..5).unwrap());
    assert_eq!(image.height(), 128 + 24);
    assert!(image.width() >= 5 * 128);
    assert!(dark_pixels(&image, 128..152) > 100);
}

#[test]
fn twenty_five_samples_make_a_5x5_grid() {
    let (x, y) = cifar_like(30);
    let figure = plot_samples(&x, &y, &CLASSES, 5..30).unwrap();
    let image = decoded(&figure);
    // Cells are as wide as the widest caption ("1: automobile") or 128 px, 10 px apart.
    let cell_w = (image.width() + 10) / 5;
    assert_eq!(cell_w * 5 - 10, image.width());
    assert_eq!(image.height(), 5 * (128 + 24) + 4 * 10);
    // Row 2, column 3 holds image 5 + 2 * 5 + 3 = 18.
    let (left, top) = (3 * cell_w + (cell_w - 10 - 128) / 2, 2 * (128 + 24 + 10));
    assert_eq!(
        pixel(&image, left + 4 * 7 + 1, top + 4 * 30 + 2),
        [0, 1, 2].map(|c| source(18, 30, 7, c))
    );
    // Every caption band has text.
    for row in 0..5 {
        let band = row * (128 + 24 + 10) + 128;
        assert!(
            dark_pixels(&image, band..band + 24) > 100,
            "captions of row {row}"
        );
    }
}

#[test]
fn prediction_shows_image_and_probability_bars() {
    let (x, y) = cifar_like(5);
    let mut row = vec![0.02f32; 10];
    row[3] = 0.7;
    row[5] = 0.12;
    let probs = Tensor::from_slice(&row).view([1, 10]).repeat([5, 1]);
    let figure = plot_prediction(&x, &y, &probs, &CLASSES, 3).unwrap();
    let image = decoded(&figure);
    assert!(image.width() > 128 + 220 && image.height() >= 128);
    // The image sits 12 px from the top; its pixels are the source's.
    let left = (0..image.width())
        .find(|x| pixel(&image, *x, 12) != WHITE)
        .unwrap();
    assert_eq!(
        pixel(&image, left + 4 * 9, 12 + 4 * 2),
        [0, 1, 2].map(|c| source(3, 2, 9, c))
    );
    // True class 3 was predicted: its bar is blue and runs 70% of 220 px.
    let bar_row = 12 + 3 * 22 + 11;
    let blue: Vec<u32> = (0..image.width())
        .filter(|x| pixel(&image, *x, bar_row) == BLUE)
        .collect();
    assert_eq!(blue.len(), 154);
}

#[test]
fn history_chart_has_training_and_validation_curves() {
    let history = History {
        loss: vec![1.8, 1.6, 1.5],
        accuracy: vec![0.35, 0.43, 0.47],
        val_loss: vec![1.7, 1.6, 1.58],
        val_accuracy: vec![0.40, 0.44, 0.45],
        epoch_seconds: vec![3.0; 3],
    };
    let image = decoded(&plot_history(&history).unwrap());
    assert_eq!(image.dimensions(), (920, 340));
    let count = |rgb: [u8; 3], xs: std::ops::Range<u32>| {
        xs.flat_map(|x| (0..340).map(move |y| (x, y)))
            .filter(|(x, y)| pixel(&image, *x, *y) == rgb)
            .count()
    };
    for panel in [0..460, 460..920] {
        assert!(
            count(BLUE, panel.clone()) > 100,
            "training curve in {panel:?}"
        );
        assert!(
            count(ORANGE, panel.clone()) > 100,
            "validation curve in {panel:?}"
        );
    }
}

#[test]
fn history_without_validation_or_accuracy() {
    let history = History {
        loss: vec![0.9],
        ..History::default()
    };
    let image = decoded(&plot_history(&history).unwrap());
    assert_eq!(image.dimensions(), (460, 340));
    assert!(!image.pixels().any(|p| p.0 == ORANGE));
    assert!(
        image.pixels().filter(|p| p.0 == BLUE).count() > 10,
        "one epoch still shows a dot"
    );
}

#[test]
fn confusion_matrix_counts_pairs() {
    let truth = Tensor::from_slice(&[0i64, 0, 1, 2, 2, 2]);
    let predicted = Tensor::from_slice(&[0i64, 1, 1, 2, 2, 0]);
    assert_eq!(
        confusion_matrix(&truth, &predicted, 3).unwrap(),
        vec![vec![1, 1, 0], vec![0, 1, 0], vec![1, 0, 2]]
    );
    // Probabilities from `predict` and Keras's (n, 1) labels work as they are.
    let probs = Tensor::from_slice(&[0.9f32, 0.1, 0.2, 0.8]).view([2, 2]);
    let keras = Tensor::from_slice(&[0u8, 0]).view([2, 1]);
    assert_eq!(
        confusion_matrix(&keras, &probs, 2).unwrap(),
        vec![vec![1, 1], vec![0, 0]]
    );
}

#[test]
fn confusion_heatmap_is_darkest_at_the_largest_count() {
    let matrix = vec![vec![50, 0, 0], vec![5, 20, 0], vec![0, 0, 0]];
    let figure = plot_confusion_matrix(&matrix, &["cat", "dog", "frog"]).unwrap();
    let image = decoded(&figure);
    assert!(image.width() >= 3 * 46 && image.height() >= 3 * 46);
    assert!(
        image.pixels().any(|p| p.0 == BLUE),
        "the largest count has the full colour"
    );
    // The text of the counts and names is drawn.
    assert!(dark_pixels(&image, 0..image.height()) > 200);
}

#[test]
fn save_writes_the_png_atomically() {
    let dir = tempfile::tempdir().unwrap();
    let (x, _) = cifar_like(1);
    let figure = plot_sample(&x, 0).unwrap();
    let path = dir.path().join("sample.png");
    figure.save(&path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(bytes, figure.to_png().unwrap());
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        names,
        vec![std::ffi::OsString::from("sample.png")],
        "no temporary file is left"
    );
}

#[test]
fn save_errors_name_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let (x, _) = cifar_like(1);
    let figure = plot_sample(&x, 0).unwrap();
    let missing = dir.path().join("no such dir").join("sample.png");
    let message = figure.save(&missing).unwrap_err().to_string();
    assert!(message.contains("no such dir/sample.png"), "{message}");
    let message = figure
        .save(dir.path().join("sample.jpg"))
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("sample.jpg") && message.contains(".png"),
        "{message}"
    );
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn figures_from_raw_pixels() {
    let figure = Figure::from_rgb(2, 1, vec![1, 2, 3, 4, 5, 6]).unwrap();
    assert_eq!(figure.pixel(1, 0), Some([4, 5, 6]));
    assert_eq!(figure.pixel(2, 0), None);
    assert_eq!(format!("{figure:?}"), "Figure(2x1)");
    assert!(Figure::from_rgb(2, 2, vec![0; 3]).is_err());
    assert!(Figure::from_rgb(0, 2, vec![]).is_err());
}

#[test]
fn html_has_a_plain_text_twin() {
    let html = Html::new("<b>fast</b>", "fast");
    assert_eq!(html.to_string(), "fast");
    assert_eq!(html.html(), "<b>fast</b>");
}
