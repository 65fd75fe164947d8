//! How the explorer writes its numbers and steps its chart's grid: pure functions, kept out of the
//! view so that each rule can be checked without a window.

/// Three decimals, with no "-0.000": the energy of a zero-score state is -0.0 in IEEE arithmetic.
pub fn three_decimals(x: f64) -> String {
    let text = format!("{x:.3}");
    if text == "-0.000" { "0.000".to_owned() } else { text }
}

/// `exp(score)` in a fixed-width-friendly form: four decimals for ordinary sizes (1e-3 up to
/// 1e5), scientific otherwise, so a column of them stays narrow whatever the weights.
pub fn exp_text(score: f64) -> String {
    let value = score.exp();
    if (1e-3..1e5).contains(&value) { format!("{value:.4}") } else { format!("{value:.3e}") }
}

/// The partition function as the explorer heads its results with it: four decimals while that is
/// readable (below 1e6), scientific beyond and for an overflowed `inf`.
pub fn partition_function_text(z: f64) -> String {
    if z.is_finite() && z < 1e6 { format!("Z = {z:.4}") } else { format!("Z = {z:.4e}") }
}

/// A chart tick's value rounded to four decimals, so that a grid step summed up as
/// 0.30000000000000004 is written 0.3.
pub fn tick_text(value: f64) -> String {
    format!("{}", (value * 1e4).round() / 1e4)
}

/// The 1-2-5 number nearest at or above `raw` (`1, 2, 5, 10, 20, ...` times a power of ten): grid
/// steps people read at a glance. Anything not a positive finite number gives 1.
pub fn nice_step(raw: f64) -> f64 {
    if !(raw.is_finite() && raw > 0.0) {
        return 1.0;
    }
    let magnitude = 10f64.powf(raw.log10().floor());
    let mantissa = raw / magnitude;
    let nice = if mantissa <= 1.0 {
        1.0
    } else if mantissa <= 2.0 {
        2.0
    } else if mantissa <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * magnitude
}
