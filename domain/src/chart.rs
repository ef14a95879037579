//! Line charts as SVG, drawn in Rust for the scaling preview: axes with
//! ticks and units, a legend, and one polyline per series. Output is
//! deterministic and every label is escaped, so a chart can go straight
//! into a page or a report.

use std::fmt::Write as _;

use crate::svg::escape;

/// One line of a chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    pub colour: &'static str,
    /// Drawn dashed, for a second policy or a reference line.
    pub dashed: bool,
    pub points: Vec<(f64, f64)>,
}

const W: f64 = 640.0;
const H: f64 = 260.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 34.0;
const BOTTOM: f64 = 64.0;

/// A "nice" tick step for a range, so ticks land on 1, 2 or 5 × 10^k.
fn step(range: f64, ticks: f64) -> f64 {
    if range <= 0.0 || !range.is_finite() {
        return 1.0;
    }
    let raw = range / ticks;
    let mag = 10f64.powf(raw.log10().floor());
    let norm = raw / mag;
    let nice = if norm <= 1.0 {
        1.0
    } else if norm <= 2.0 {
        2.0
    } else if norm <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * mag
}

fn label(v: f64) -> String {
    let a = v.abs();
    if a >= 1e6 {
        format!("{:.1}M", v / 1e6)
    } else if a >= 1e4 {
        format!("{:.0}k", v / 1e3)
    } else if a >= 1e3 {
        format!("{:.1}k", v / 1e3)
    } else if a >= 10.0 || a == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

/// Draws `series` against shared axes. `y_floor_zero` starts the y axis
/// at zero (pods, queue depth); latency axes may start higher.
pub fn line_chart(
    title: &str,
    x_unit: &str,
    y_unit: &str,
    series: &[Series],
    y_floor_zero: bool,
) -> String {
    let pts = || series.iter().flat_map(|s| s.points.iter());
    let finite = |v: f64| v.is_finite();
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for &(x, y) in pts() {
        if finite(x) && finite(y) {
            x0 = x0.min(x);
            x1 = x1.max(x);
            y0 = y0.min(y);
            y1 = y1.max(y);
        }
    }
    if x0 > x1 {
        (x0, x1, y0, y1) = (0.0, 1.0, 0.0, 1.0);
    }
    if y_floor_zero || y0 > 0.0 && y0 < (y1 - y0) {
        y0 = y0.min(0.0);
    }
    if (y1 - y0).abs() < 1e-9 {
        y1 = y0 + 1.0;
    }
    if (x1 - x0).abs() < 1e-9 {
        x1 = x0 + 1.0;
    }
    let ys = step(y1 - y0, 5.0);
    let y_top = (y1 / ys).ceil() * ys;
    let y_bot = (y0 / ys).floor() * ys;
    let xs = step(x1 - x0, 8.0);
    let (pw, ph) = (W - LEFT - RIGHT, H - TOP - BOTTOM);
    let px = |x: f64| LEFT + (x - x0) / (x1 - x0) * pw;
    let py = |y: f64| TOP + ph - (y - y_bot) / (y_top - y_bot) * ph;
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {W} {H}\" width=\"{W}\" height=\"{H}\" role=\"img\" aria-label=\"{t}\" class=\"chart\">\
         <text x=\"{LEFT}\" y=\"20\" font-size=\"13\" font-weight=\"600\" fill=\"#1c2330\">{t}</text>",
        t = escape(title)
    );
    // Grid and y ticks.
    let mut y = y_bot;
    while y <= y_top + ys / 2.0 {
        let _ = write!(
            s,
            "<line x1=\"{LEFT}\" x2=\"{:.1}\" y1=\"{yy:.1}\" y2=\"{yy:.1}\" stroke=\"#e2e6ec\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\" text-anchor=\"end\" fill=\"#5f6b7a\">{}</text>",
            W - RIGHT,
            LEFT - 6.0,
            py(y) + 3.0,
            label(y),
            yy = py(y)
        );
        y += ys;
    }
    // X ticks.
    let mut x = (x0 / xs).ceil() * xs;
    while x <= x1 + xs / 1e6 {
        let _ = write!(
            s,
            "<line x1=\"{xx:.1}\" x2=\"{xx:.1}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"#9aa5b4\"/>\
             <text x=\"{xx:.1}\" y=\"{:.1}\" font-size=\"10\" text-anchor=\"middle\" fill=\"#5f6b7a\">{}</text>",
            TOP + ph,
            TOP + ph + 4.0,
            TOP + ph + 16.0,
            label(x),
            xx = px(x)
        );
        x += xs;
    }
    let _ = write!(
        s,
        "<line x1=\"{LEFT}\" x2=\"{LEFT}\" y1=\"{TOP}\" y2=\"{:.1}\" stroke=\"#5f6b7a\"/>\
         <line x1=\"{LEFT}\" x2=\"{:.1}\" y1=\"{b:.1}\" y2=\"{b:.1}\" stroke=\"#5f6b7a\"/>\
         <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"middle\" fill=\"#1c2330\">{}</text>\
         <text x=\"14\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"middle\" fill=\"#1c2330\" transform=\"rotate(-90 14 {:.1})\">{}</text>",
        TOP + ph,
        W - RIGHT,
        LEFT + pw / 2.0,
        TOP + ph + 32.0,
        escape(x_unit),
        TOP + ph / 2.0,
        TOP + ph / 2.0,
        escape(y_unit),
        b = TOP + ph
    );
    for sr in series {
        let mut d = String::new();
        for &(x, y) in sr.points.iter().filter(|(x, y)| finite(*x) && finite(*y)) {
            let _ = write!(
                d,
                "{}{:.1},{:.1}",
                if d.is_empty() { "" } else { " " },
                px(x),
                py(y.min(y_top))
            );
        }
        let _ = write!(
            s,
            "<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"1.8\"{} points=\"{d}\"><title>{}</title></polyline>",
            sr.colour,
            if sr.dashed {
                " stroke-dasharray=\"5 3\""
            } else {
                ""
            },
            escape(&sr.name)
        );
    }
    // Legend along the bottom.
    let mut lx = LEFT;
    let ly = H - 12.0;
    for sr in series {
        let _ = write!(
            s,
            "<line x1=\"{lx:.1}\" x2=\"{:.1}\" y1=\"{ly:.1}\" y2=\"{ly:.1}\" stroke=\"{}\" stroke-width=\"2.5\"{}/>\
             <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\" fill=\"#1c2330\">{}</text>",
            lx + 18.0,
            sr.colour,
            if sr.dashed {
                " stroke-dasharray=\"5 3\""
            } else {
                ""
            },
            lx + 22.0,
            ly + 3.5,
            escape(&sr.name)
        );
        lx += 30.0 + 6.0 * sr.name.chars().count() as f64;
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(name: &str) -> Series {
        Series {
            name: name.into(),
            colour: "#2f6fde",
            dashed: false,
            points: (0..10).map(|i| (i as f64 * 2.0, (i * i) as f64)).collect(),
        }
    }

    #[test]
    fn charts_have_axes_units_legends_and_escape_text() {
        let svg = line_chart(
            "P99 <latency>",
            "time (s)",
            "latency (ms)",
            &[series("current & \"old\""), series("proposed")],
            true,
        );
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("P99 &lt;latency&gt;"));
        assert!(svg.contains("time (s)") && svg.contains("latency (ms)"));
        assert!(svg.contains("current &amp; &quot;old&quot;") && svg.contains(">proposed<"));
        assert_eq!(svg.matches("<polyline").count(), 2);
        // Ticks at nice numbers: 0 and 80 on y (the maximum is 81).
        assert!(svg.contains(">0<") && svg.contains(">100<"), "{svg}");
        assert_eq!(
            svg,
            line_chart(
                "P99 <latency>",
                "time (s)",
                "latency (ms)",
                &[series("current & \"old\""), series("proposed")],
                true
            )
        );
    }

    #[test]
    fn empty_and_flat_series_still_draw() {
        let svg = line_chart("empty", "s", "pods", &[], true);
        assert!(svg.contains("</svg>"));
        let flat = Series {
            name: "flat".into(),
            colour: "#000",
            dashed: true,
            points: vec![(0.0, 5.0), (1.0, 5.0), (2.0, f64::NAN)],
        };
        let svg = line_chart("flat", "s", "pods", &[flat], true);
        assert!(svg.contains("stroke-dasharray") && !svg.contains("NaN"));
    }

    #[test]
    fn steps_are_round_numbers() {
        assert_eq!(step(100.0, 5.0), 20.0);
        assert_eq!(step(7.0, 5.0), 2.0);
        assert_eq!(step(0.3, 5.0), 0.1);
        assert_eq!(label(200_000.0), "200k");
        assert_eq!(label(1500.0), "1.5k");
    }
}
