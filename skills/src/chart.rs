//! Line charts as PNG, shared by the demo estate and the Grafana driver's
//! fallback: plotters draws into an in-memory RGB buffer, the `png`
//! crate encodes it. No files, no system fonts: DejaVu Sans is embedded.

use crate::backends::Series;
use crate::skill::Window;
use chrono::Duration;
use plotters::backend::RGBPixel;
use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};
use std::sync::OnceLock;

/// DejaVu Sans (Bitstream Vera license, see assets/LICENSE-DejaVu.txt).
const DEJAVU_SANS: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");
const FONT: &str = "sans-serif";

/// Line colours, one per series, cycling.
const PALETTE: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

/// What to draw.
pub(crate) struct Chart<'a> {
    pub title: &'a str,
    /// Unit of the values, shown on the y axis.
    pub unit: &'a str,
    pub series: &'a [Series],
    pub window: Window,
    pub width: u32,
    pub height: u32,
}

/// Registers the embedded font once; plotters' font registry is process-wide.
fn ensure_font() -> Result<(), String> {
    static REGISTERED: OnceLock<Result<(), String>> = OnceLock::new();
    REGISTERED
        .get_or_init(|| {
            register_font(FONT, FontStyle::Normal, DEJAVU_SANS)
                .map_err(|_| "the embedded font is not a valid TrueType font".to_string())
        })
        .clone()
}

/// The x axis is milliseconds from the window's start: integers, so grid lines can
/// be placed at round times (plotters only allows that on integer axes).
fn millis(d: Duration) -> i64 {
    d.num_milliseconds()
}

/// The y range: from 0 (or below, for negative data) to a little above the top.
fn y_range(series: &[Series]) -> (f64, f64) {
    let values = series.iter().flat_map(|s| s.points.iter().map(|p| p.1)).filter(|v| v.is_finite());
    let (lo, hi) = values.fold((0.0f64, 0.0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let hi = if hi <= lo { lo + 1.0 } else { hi + (hi - lo) * 0.1 };
    (lo, hi)
}

/// Where the time axis gets its grid lines: at round UTC times, so labels read
/// 09:30, 09:35, ... rather than wherever the window happened to start.
struct Ticks {
    /// Labelled lines, milliseconds from the window's start.
    bold: Vec<i64>,
    /// Unlabelled lines in between.
    light: Vec<i64>,
    format: &'static str,
}

/// (labelled step, light step) in seconds, from fine to coarse.
const STEPS: [(i64, i64); 16] = [
    (15, 5),
    (30, 10),
    (60, 15),
    (120, 30),
    (300, 60),
    (600, 120),
    (900, 300),
    (1800, 300),
    (3600, 900),
    (7200, 1800),
    (10_800, 3600),
    (21_600, 3600),
    (43_200, 10_800),
    (86_400, 21_600),
    (172_800, 43_200),
    (604_800, 86_400),
];

fn time_ticks(window: Window) -> Ticks {
    let span = (window.to - window.from).num_seconds().max(1);
    let (step, light) = STEPS.iter().copied().find(|(step, _)| span / step <= 7).unwrap_or((span, span));
    let (from, to) = (window.from.timestamp_millis(), window.to.timestamp_millis());
    let at = |every: i64| -> Vec<i64> {
        let every = every * 1000;
        let first = from.div_euclid(every) * every;
        (0..).map(|k| first + k * every).take_while(|&t| t <= to).map(|t| t - from).filter(|&x| x >= 0).collect()
    };
    let format = if step < 60 {
        "%H:%M:%S"
    } else if step >= 86_400 {
        "%m-%d"
    } else if span > 86_400 {
        "%m-%d %H:%M"
    } else {
        "%H:%M"
    };
    Ticks { bold: at(step), light: at(light), format }
}

/// Draws the chart and returns PNG bytes.
pub(crate) fn render_png(chart: &Chart<'_>) -> Result<Vec<u8>, String> {
    ensure_font()?;
    let (w, h) = (chart.width, chart.height);
    let mut rgb = vec![255u8; w as usize * h as usize * 3];
    draw(chart, &mut rgb).map_err(|e| format!("drawing the chart: {e}"))?;
    encode(&rgb, w, h).map_err(|e| format!("encoding the PNG: {e}"))
}

fn draw(chart: &Chart<'_>, rgb: &mut [u8]) -> Result<(), Box<dyn std::error::Error>> {
    let backend = BitMapBackend::<RGBPixel>::with_buffer_and_format(rgb, (chart.width, chart.height))?;
    let root = backend.into_drawing_area();
    root.fill(&WHITE)?;

    let from = chart.window.from;
    let span = millis(chart.window.to - from).max(1);
    let (y0, y1) = y_range(chart.series);
    let ticks = time_ticks(chart.window);
    let x_label = |x: &i64| (from + Duration::milliseconds(*x)).format(ticks.format).to_string();
    let decimals = if y1 < 1.0 {
        3
    } else if y1 < 10.0 {
        1
    } else {
        0
    };
    let y_label = |y: &f64| format!("{y:.decimals$}");

    let mut ctx = ChartBuilder::on(&root)
        .caption(chart.title, (FONT, 20))
        .margin(14)
        .x_label_area_size(40)
        .y_label_area_size(64)
        .build_cartesian_2d((0i64..span).with_key_points(ticks.bold).with_light_points(ticks.light), y0..y1)?;
    ctx.configure_mesh()
        .y_labels(6)
        .x_label_formatter(&x_label)
        .y_label_formatter(&y_label)
        .x_desc("time (UTC)")
        .y_desc(chart.unit)
        .label_style((FONT, 13))
        .axis_desc_style((FONT, 13))
        .light_line_style(RGBColor(236, 236, 236))
        .bold_line_style(RGBColor(210, 210, 210))
        .draw()?;

    for (i, s) in chart.series.iter().enumerate() {
        let color = PALETTE[i % PALETTE.len()];
        let points = s.points.iter().filter(|p| p.1.is_finite()).map(|(t, v)| (millis(*t - from), *v));
        ctx.draw_series(LineSeries::new(points, color.stroke_width(2)))?
            .label(s.name.as_str())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2)));
    }
    if chart.series.is_empty() {
        root.draw(&Text::new("no data", ((chart.width / 2) as i32 - 30, (chart.height / 2) as i32), (FONT, 16)))?;
    } else {
        ctx.configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(200, 200, 200))
            .label_font((FONT, 12))
            .draw()?;
    }
    root.present()?;
    Ok(())
}

fn encode(rgb: &[u8], width: u32, height: u32) -> Result<Vec<u8>, png::EncodingError> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(rgb)?;
    writer.finish()?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::testing::{png_size, t0};

    #[test]
    fn draws_a_real_png_with_lines_and_text() {
        let window = Window { from: t0() - Duration::minutes(30), to: t0() };
        let points =
            (0..60).map(|i| (window.from + Duration::seconds(i * 30), (i as f64 / 5.0).sin() * 10.0 + 20.0)).collect();
        let series = vec![Series { name: "latte/0".into(), points }];
        let chart = Chart { title: "latte / CPU", unit: "%", series: &series, window, width: 640, height: 320 };
        let png = render_png(&chart).unwrap();
        assert_eq!(png_size(&png), Some((640, 320)));

        // Decode and check that something besides white was drawn, including the line colour.
        let decoder = png::Decoder::new(std::io::Cursor::new(&png));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut buf).unwrap();
        let pixels = &buf[..info.buffer_size()];
        let blue = pixels.chunks(3).filter(|p| p == &[31, 119, 180]).count();
        let dark = pixels.chunks(3).filter(|p| p.iter().all(|&c| c < 90)).count();
        assert!(blue > 200, "the series line is drawn ({blue} px)");
        assert!(dark > 200, "text and axes are drawn ({dark} px)");
    }

    #[test]
    fn time_ticks_fall_on_round_times() {
        let to = t0() + Duration::minutes(7) + Duration::seconds(13);
        let ticks = time_ticks(Window { from: to - Duration::minutes(30), to });
        let from = to - Duration::minutes(30);
        let labels: Vec<String> =
            ticks.bold.iter().map(|x| (from + Duration::milliseconds(*x)).format(ticks.format).to_string()).collect();
        assert_eq!(labels, vec!["09:40", "09:45", "09:50", "09:55", "10:00", "10:05"]);
        assert!(ticks.light.len() > ticks.bold.len());
        let week = time_ticks(Window { from: t0() - Duration::days(6), to: t0() });
        assert_eq!(week.format, "%m-%d");
    }

    #[test]
    fn empty_chart_still_renders() {
        let window = Window { from: t0() - Duration::minutes(5), to: t0() };
        let chart = Chart { title: "nothing", unit: "", series: &[], window, width: 300, height: 200 };
        assert_eq!(png_size(&render_png(&chart).unwrap()), Some((300, 200)));
    }
}
