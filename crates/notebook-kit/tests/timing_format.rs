//! `timeit!` prints IPython's line digit for digit. Every expected string below was printed
//! by IPython 9.18's own `_format_time` and `TimeitResult` (Python 3.11, UTF-8 stdout).

use notebook_kit::timing::{format_time, Timing};

#[test]
fn durations_in_every_unit() {
    let cases = [
        (0.0, "0 ns"),
        (3.2e-10, "0.32 ns"),
        (1.23e-09, "1.23 ns"),
        (1.23456e-08, "12.3 ns"),
        (1.23456e-07, "123 ns"),
        (9.994e-07, "999 ns"),
        (1e-06, "1 \u{3bc}s"),
        (1.23456e-06, "1.23 \u{3bc}s"),
        (4.56e-05, "45.6 \u{3bc}s"),
        (0.0009995, "1e+03 \u{3bc}s"),
        (0.001, "1 ms"),
        (0.00123456, "1.23 ms"),
        (0.0456, "45.6 ms"),
        (0.5, "500 ms"),
        (0.999, "999 ms"),
        (1.0, "1 s"),
        (9.99, "9.99 s"),
        (44.5, "44.5 s"),
        (59.99, "60 s"),
        (60.0, "1min"),
        (61.5, "1min 1s"),
        (452.0, "7min 32s"),
        (3600.0, "1h"),
        (3725.2, "1h 2min 5s"),
        (90061.0, "1d 1h 1min 1s"),
    ];
    for (seconds, expected) in cases {
        assert_eq!(format_time(seconds, 3), expected, "format_time({seconds})");
    }
}

#[test]
fn precision_is_significant_digits() {
    let cases = [
        (0.00123456, 1, "1 ms"),
        (0.00123456, 5, "1.2346 ms"),
        (44.5, 6, "44.5 s"),
        (1.23456e-08, 4, "12.35 ns"),
    ];
    for (seconds, precision, expected) in cases {
        assert_eq!(
            format_time(seconds, precision),
            expected,
            "format_time({seconds}, {precision})"
        );
    }
}

#[test]
fn result_lines_for_runs_and_loops() {
    let cases: [(u64, &[f64], usize, &str); 9] = [
        (
            1,
            &[44.5],
            3,
            "44.5 s ± 0 ns per loop (mean ± std. dev. of 1 run, 1 loop each)",
        ),
        (
            1000,
            &[1.2, 1.25, 1.3, 1.22, 1.21, 1.27, 1.19],
            3,
            "1.23 ms ± 37.4 μs per loop (mean ± std. dev. of 7 runs, 1,000 loops each)",
        ),
        (
            1,
            &[0.5, 0.52],
            3,
            "510 ms ± 10 ms per loop (mean ± std. dev. of 2 runs, 1 loop each)",
        ),
        (
            10,
            &[0.21, 0.23, 0.22],
            3,
            "22 ms ± 816 μs per loop (mean ± std. dev. of 3 runs, 10 loops each)",
        ),
        (
            1000000,
            &[0.0123, 0.0125, 0.0124, 0.0122, 0.0123, 0.0126, 0.0121],
            3,
            "12.3 ns ± 0.159 ns per loop (mean ± std. dev. of 7 runs, 1,000,000 loops each)",
        ),
        (
            100,
            &[0.3, 1.5, 0.31],
            3,
            "7.03 ms ± 5.63 ms per loop (mean ± std. dev. of 3 runs, 100 loops each)",
        ),
        (
            1,
            &[452.0, 460.5],
            3,
            "7min 36s ± 4.25 s per loop (mean ± std. dev. of 2 runs, 1 loop each)",
        ),
        (
            7,
            &[1.0],
            4,
            "142.9 ms ± 0 ns per loop (mean ± std. dev. of 1 run, 7 loops each)",
        ),
        (
            1,
            &[2.0, 2.0, 2.0],
            3,
            "2 s ± 0 ns per loop (mean ± std. dev. of 3 runs, 1 loop each)",
        ),
    ];
    for (loops, runs, precision, expected) in cases {
        let timing = Timing::new(loops, runs.to_vec())
            .unwrap()
            .with_precision(precision);
        assert_eq!(timing.to_string(), expected);
        assert_eq!(
            format!("{timing:?}"),
            format!("<TimeitResult : {expected}>")
        );
    }
}

#[test]
fn statistics_are_per_loop() {
    let timing = Timing::new(10, vec![0.21, 0.23, 0.22]).unwrap();
    assert_eq!((timing.loops(), timing.runs()), (10, 3));
    assert_eq!(timing.run_seconds(), &[0.21, 0.23, 0.22]);
    assert_eq!(timing.per_loop(), &[0.21 / 10.0, 0.23 / 10.0, 0.22 / 10.0]);
    // Python: math.fsum(timings) / 3 and the population standard deviation.
    assert_eq!(timing.mean(), 0.022000000000000002);
    assert_eq!(timing.std(), 0.0008164965809277268);
    assert_eq!(timing.best(), 0.21 / 10.0);
    assert_eq!(timing.worst(), 0.23 / 10.0);
}

#[test]
fn slow_outlier_warning_is_ipythons() {
    let uneven = Timing::new(100, vec![0.3, 1.5, 0.31]).unwrap();
    assert_eq!(
        uneven.warning().as_deref(),
        Some("The slowest run took 5.00 times longer than the fastest. This could mean that an intermediate result is being cached.")
    );
    assert_eq!(Timing::new(1, vec![1.0, 1.1]).unwrap().warning(), None);
    // Under a microsecond IPython does not warn, however uneven.
    assert_eq!(Timing::new(1, vec![1e-8, 9e-7]).unwrap().warning(), None);
}

#[test]
fn impossible_timings_are_errors() {
    assert!(Timing::new(0, vec![1.0]).is_err());
    assert!(Timing::new(1, vec![]).is_err());
    assert!(Timing::new(1, vec![f64::NAN]).is_err());
    assert!(Timing::new(1, vec![-1.0]).is_err());
}
