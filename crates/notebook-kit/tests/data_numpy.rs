//! Golden strings for `np(...)`: each expected text is what NumPy 2.4 prints for the same
//! array (generated with numpy 2.4.6, `repr(...)`).

use notebook_kit::data::{np, to_categorical};
use notebook_kit::prelude::*;

fn check(t: Tensor, expected: &str) {
    assert_eq!(format!("{:?}", np(&t)), expected, "Debug");
    assert_eq!(np(&t).to_string(), expected, "Display");
}

#[test]
fn y_train_first_three_uint8() {
    check(
        Tensor::from_slice(&[6u8, 9, 9]).reshape([3, 1]),
        r#"array([[6],
       [9],
       [9]], dtype=uint8)"#,
    );
}

#[test]
fn one_hot_float32_rows() {
    check(
        to_categorical(&Tensor::from_slice(&[6u8, 9, 9, 4, 1]).reshape([5, 1]), 10).unwrap(),
        r#"array([[0., 0., 0., 0., 0., 0., 1., 0., 0., 0.],
       [0., 0., 0., 0., 0., 0., 0., 0., 0., 1.],
       [0., 0., 0., 0., 0., 0., 0., 0., 0., 1.],
       [0., 0., 0., 0., 1., 0., 0., 0., 0., 0.],
       [0., 1., 0., 0., 0., 0., 0., 0., 0., 0.]], dtype=float32)"#,
    );
}

#[test]
fn int64_has_no_dtype() {
    check(
        Tensor::from_slice(&[3i64, -12, 7]),
        r#"array([  3, -12,   7])"#,
    );
}

#[test]
fn int32_1d() {
    check(
        Tensor::from_slice(&[1i32, 22, 333]),
        r#"array([  1,  22, 333], dtype=int32)"#,
    );
}

#[test]
fn long_row_wraps_at_75_columns() {
    check(
        Tensor::arange(40, (Kind::Int64, Device::Cpu)),
        r#"array([ 0,  1,  2,  3,  4,  5,  6,  7,  8,  9, 10, 11, 12, 13, 14, 15, 16,
       17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33,
       34, 35, 36, 37, 38, 39])"#,
    );
}

#[test]
fn long_row_uint8_wraps() {
    check(
        Tensor::arange(30, (Kind::Int64, Device::Cpu)).to_kind(Kind::Uint8),
        r#"array([ 0,  1,  2,  3,  4,  5,  6,  7,  8,  9, 10, 11, 12, 13, 14, 15, 16,
       17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29], dtype=uint8)"#,
    );
}

#[test]
fn summarized_1d_shows_shape() {
    check(
        Tensor::arange(2000, (Kind::Int64, Device::Cpu)),
        r#"array([   0,    1,    2, ..., 1997, 1998, 1999], shape=(2000,))"#,
    );
}

#[test]
fn summarized_3d_uint8() {
    check(
        Tensor::arange(20 * 8 * 8, (Kind::Int64, Device::Cpu))
            .remainder(251)
            .to_kind(Kind::Uint8)
            .reshape([20, 8, 8]),
        r#"array([[[  0,   1,   2, ...,   5,   6,   7],
        [  8,   9,  10, ...,  13,  14,  15],
        [ 16,  17,  18, ...,  21,  22,  23],
        ...,
        [ 40,  41,  42, ...,  45,  46,  47],
        [ 48,  49,  50, ...,  53,  54,  55],
        [ 56,  57,  58, ...,  61,  62,  63]],

       [[ 64,  65,  66, ...,  69,  70,  71],
        [ 72,  73,  74, ...,  77,  78,  79],
        [ 80,  81,  82, ...,  85,  86,  87],
        ...,
        [104, 105, 106, ..., 109, 110, 111],
        [112, 113, 114, ..., 117, 118, 119],
        [120, 121, 122, ..., 125, 126, 127]],

       [[128, 129, 130, ..., 133, 134, 135],
        [136, 137, 138, ..., 141, 142, 143],
        [144, 145, 146, ..., 149, 150, 151],
        ...,
        [168, 169, 170, ..., 173, 174, 175],
        [176, 177, 178, ..., 181, 182, 183],
        [184, 185, 186, ..., 189, 190, 191]],

       ...,

       [[ 84,  85,  86, ...,  89,  90,  91],
        [ 92,  93,  94, ...,  97,  98,  99],
        [100, 101, 102, ..., 105, 106, 107],
        ...,
        [124, 125, 126, ..., 129, 130, 131],
        [132, 133, 134, ..., 137, 138, 139],
        [140, 141, 142, ..., 145, 146, 147]],

       [[148, 149, 150, ..., 153, 154, 155],
        [156, 157, 158, ..., 161, 162, 163],
        [164, 165, 166, ..., 169, 170, 171],
        ...,
        [188, 189, 190, ..., 193, 194, 195],
        [196, 197, 198, ..., 201, 202, 203],
        [204, 205, 206, ..., 209, 210, 211]],

       [[212, 213, 214, ..., 217, 218, 219],
        [220, 221, 222, ..., 225, 226, 227],
        [228, 229, 230, ..., 233, 234, 235],
        ...,
        [  1,   2,   3, ...,   6,   7,   8],
        [  9,  10,  11, ...,  14,  15,  16],
        [ 17,  18,  19, ...,  22,  23,  24]]],
      shape=(20, 8, 8), dtype=uint8)"#,
    );
}

#[test]
fn floats_align_on_the_point() {
    check(
        Tensor::from_slice(&[0.5f32, 1.0, 0.25]),
        r#"array([0.5 , 1.  , 0.25], dtype=float32)"#,
    );
}

#[test]
fn scaled_pixels_float32() {
    check(
        Tensor::from_slice(&[59u8, 43, 50, 255, 0, 1]).to_kind(Kind::Float) / 255.0,
        r#"array([0.23137255, 0.16862746, 0.19607843, 1.        , 0.        ,
       0.00392157], dtype=float32)"#,
    );
}

#[test]
fn float64_has_no_dtype() {
    check(
        Tensor::from_slice(&[0.1f64, 2.5, -3.0]),
        r#"array([ 0.1,  2.5, -3. ])"#,
    );
}

#[test]
fn wide_range_goes_scientific() {
    check(
        Tensor::from_slice(&[1e-5f32, 1.0, 0.25]),
        r#"array([1.0e-05, 1.0e+00, 2.5e-01], dtype=float32)"#,
    );
}

#[test]
fn large_values_scientific_float64() {
    check(
        Tensor::from_slice(&[1.5e9f64, -2.0, 0.0]),
        r#"array([ 1.5e+09, -2.0e+00,  0.0e+00])"#,
    );
}

#[test]
fn nan_and_inf() {
    check(
        Tensor::from_slice(&[f32::NAN, 1.5, f32::NEG_INFINITY]),
        r#"array([ nan,  1.5, -inf], dtype=float32)"#,
    );
}

#[test]
fn float32_long_digits() {
    check(
        Tensor::from_slice(&[1.0f32 / 3.0, 2.0 / 3.0, 10.0]),
        r#"array([ 0.33333334,  0.6666667 , 10.        ], dtype=float32)"#,
    );
}

#[test]
fn bool_values() {
    check(
        Tensor::from_slice(&[true, false, true]),
        r#"array([ True, False,  True])"#,
    );
}

#[test]
fn scalar_uint8() {
    check(
        Tensor::from_slice(&[5u8]).reshape([] as [i64; 0]),
        r#"array(5, dtype=uint8)"#,
    );
}

#[test]
fn empty_float32() {
    check(
        Tensor::zeros([0], (Kind::Float, Device::Cpu)),
        r#"array([], dtype=float32)"#,
    );
}

#[test]
fn empty_2d_int64_shows_shape() {
    check(
        Tensor::zeros([2, 0], (Kind::Int64, Device::Cpu)),
        r#"array([], shape=(2, 0), dtype=int64)"#,
    );
}

#[test]
fn four_d_image_block() {
    check(
        (Tensor::arange(2 * 2 * 2 * 3, (Kind::Int64, Device::Cpu)) * 11)
            .remainder(256)
            .to_kind(Kind::Uint8)
            .reshape([2, 2, 2, 3]),
        r#"array([[[[  0,  11,  22],
         [ 33,  44,  55]],

        [[ 66,  77,  88],
         [ 99, 110, 121]]],


       [[[132, 143, 154],
         [165, 176, 187]],

        [[198, 209, 220],
         [231, 242, 253]]]], dtype=uint8)"#,
    );
}

#[test]
fn long_float_rows_wrap() {
    check(
        Tensor::arange(12, (Kind::Float, Device::Cpu)) / 7.0,
        r#"array([0.        , 0.14285715, 0.2857143 , 0.42857143, 0.5714286 ,
       0.71428573, 0.85714287, 1.        , 1.1428572 , 1.2857143 ,
       1.4285715 , 1.5714285 ], dtype=float32)"#,
    );
}

#[test]
fn one_hot_summarized() {
    check(
        to_categorical(
            &Tensor::arange(120, (Kind::Int64, Device::Cpu)).remainder(10),
            10,
        )
        .unwrap(),
        r#"array([[1., 0., 0., ..., 0., 0., 0.],
       [0., 1., 0., ..., 0., 0., 0.],
       [0., 0., 1., ..., 0., 0., 0.],
       ...,
       [0., 0., 0., ..., 1., 0., 0.],
       [0., 0., 0., ..., 0., 1., 0.],
       [0., 0., 0., ..., 0., 0., 1.]], shape=(120, 10), dtype=float32)"#,
    );
}
