//! Pictures of training, drawn with plotters and an embedded font (DejaVu
//! Sans), so no system font or font configuration is read: the decision
//! boundary of a 2-D classifier over its data, and loss and accuracy per
//! step. PNG or SVG, by the file's extension.

use std::path::Path;
use std::sync::Once;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::FontStyle;

use super::format::Format;
use crate::data::{Dataset, Features};
use crate::error::{Error, Result};
use crate::nn::Weights;
use crate::train::{StepRecord, Task};
use crate::whole_file::write_atomically;

const FONT: &str = "sans-serif";

/// The most cells a decision-boundary mesh has on a side.
const MAX_CELLS: f64 = 1_000.0;
/// The most multiply-adds a decision boundary's mesh may cost: about a
/// fifth of a second. A wide network gets a coarser mesh, not a long wait
/// (a 2-1000-1000-1 network, a million per point, gets about 200 cells).
const MAX_MESH_WORK: f64 = 2e8;

/// Registers DejaVu Sans as plotters' `sans-serif`, once per process.
fn embedded_font() {
    static REGISTER: Once = Once::new();
    REGISTER.call_once(|| {
        for (style, bytes) in [
            (FontStyle::Normal, dejavu::sans::regular()),
            (FontStyle::Bold, dejavu::sans::bold()),
        ] {
            // The bytes are a valid TrueType font, compiled in.
            let _ = plotters::style::register_font(FONT, style, bytes);
        }
    });
}

/// ColorBrewer's Spectral, the colour map of micrograd's demo plots.
const SPECTRAL: [(u8, u8, u8); 11] = [
    (0x9e, 0x01, 0x42),
    (0xd5, 0x3e, 0x4f),
    (0xf4, 0x6d, 0x43),
    (0xfd, 0xae, 0x61),
    (0xfe, 0xe0, 0x8b),
    (0xff, 0xff, 0xbf),
    (0xe6, 0xf5, 0x98),
    (0xab, 0xdd, 0xa4),
    (0x66, 0xc2, 0xa5),
    (0x32, 0x88, 0xbd),
    (0x5e, 0x4f, 0xa2),
];

/// Spectral at `t` in [0, 1], linearly interpolated.
fn spectral(t: f64) -> RGBColor {
    let x = t.clamp(0.0, 1.0) * (SPECTRAL.len() - 1) as f64;
    let i = (x.floor() as usize).min(SPECTRAL.len() - 2);
    let f = x - i as f64;
    let mix = |a: u8, b: u8| (f64::from(a) + f * (f64::from(b) - f64::from(a))).round() as u8;
    let (a, b) = (SPECTRAL[i], SPECTRAL[i + 1]);
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// The colour of class `k`: Spectral's two ends for the first two classes
/// (the demo's red and blue), then the map's strongest remaining colours,
/// its pale middle last.
fn class_color(k: usize) -> RGBColor {
    const ORDER: [usize; 11] = [0, 10, 8, 3, 9, 1, 7, 2, 4, 6, 5];
    let (r, g, b) = SPECTRAL[ORDER[k % ORDER.len()]];
    RGBColor(r, g, b)
}

/// A tick label with no more digits than it needs: `1`, `0.25`, `0.001`.
fn short_number(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    let decimals = (2.0 - v.abs().log10().floor()).clamp(0.0, 12.0) as usize;
    let text = format!("{v:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
    }
}

/// `color` at `alpha` over white (the demo's `contourf(..., alpha=0.8)`).
fn over_white(c: RGBColor, alpha: f64) -> RGBColor {
    let blend = |v: u8| (alpha * f64::from(v) + (1.0 - alpha) * 255.0).round() as u8;
    RGBColor(blend(c.0), blend(c.1), blend(c.2))
}

fn render_error(e: impl std::fmt::Display) -> Error {
    Error::Render(format!("drawing the plot: {e}"))
}

/// A 2-D classifier's decision regions on a fine mesh, with the data on
/// top, coloured by class: micrograd's demo plot (`contourf` + `scatter`).
#[derive(Clone, Debug)]
pub struct DecisionBoundary<'a> {
    weights: &'a Weights,
    data: &'a Dataset,
    task: &'a Task,
    /// What the network reads of a point, where not the point itself.
    features: Option<&'a Features>,
    step: f64,
    title: String,
    /// The mesh, computed once for every picture drawn from it.
    mesh: std::cell::OnceCell<Mesh>,
}

/// Each mesh cell's class, rows from the bottom; and the box.
type Mesh = (Vec<Vec<usize>>, [f64; 4]);

impl<'a> DecisionBoundary<'a> {
    /// The regions `weights` assigns, over the box around `data` (plus a
    /// margin of 0.5 on each side, as the demo's), on a mesh of step 0.01.
    ///
    /// # Errors
    ///
    /// [`Error::Data`] unless the data has two features and the task is a
    /// classification.
    pub fn new(weights: &'a Weights, data: &'a Dataset, task: &'a Task) -> Result<Self> {
        DecisionBoundary::with_features(weights, data, task, None)
    }

    /// The same, for a network that reads `features` of each point of
    /// the plane (`None`: the point itself).
    ///
    /// # Errors
    ///
    /// As [`new`](DecisionBoundary::new), and if the network does not take
    /// as many inputs as there are features.
    pub fn with_features(
        weights: &'a Weights,
        data: &'a Dataset,
        task: &'a Task,
        features: Option<&'a Features>,
    ) -> Result<Self> {
        if data.dim() != 2 {
            return Err(Error::Data(format!(
                "a decision boundary needs points in the plane; the data has {} features",
                data.dim()
            )));
        }
        let inputs = features.map_or(2, Features::len);
        if weights.nin() != inputs {
            return Err(Error::Data(format!(
                "the network takes {} inputs; the points give it {inputs}",
                weights.nin()
            )));
        }
        if !task.is_classification() {
            return Err(Error::Data(
                "a decision boundary needs classes; the targets are real values".into(),
            ));
        }
        if weights.nouts().last() != Some(&task.outputs()) {
            return Err(Error::Data(format!(
                "the network has {:?} outputs, its task needs {}",
                weights.nouts().last(),
                task.outputs()
            )));
        }
        let spread = |k: usize| {
            let (lo, hi) = data
                .x
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| {
                    (lo.min(p[k]), hi.max(p[k]))
                });
            hi - lo
        };
        if !(spread(0).is_finite() && spread(1).is_finite()) {
            return Err(Error::Data("the points are spread too far to draw".into()));
        }
        Ok(DecisionBoundary {
            weights,
            data,
            task,
            features,
            step: 0.01,
            title: "decision boundary".into(),
            mesh: std::cell::OnceCell::new(),
        })
    }

    /// The mesh step (default 0.01; the demo's is 0.25).
    ///
    /// # Panics
    ///
    /// If `step` is not a positive number.
    #[must_use]
    pub fn mesh_step(mut self, step: f64) -> Self {
        assert!(
            step > 0.0 && step.is_finite(),
            "micrograd: the mesh step must be positive"
        );
        self.step = step;
        self.mesh = std::cell::OnceCell::new();
        self
    }

    /// The title over the plot.
    #[must_use]
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = title.into();
        self
    }

    /// The class index the network predicts at every mesh point: rows from
    /// the bottom (`y0`), each from the left (`x0`); with the box. The step
    /// grows as needed to keep the mesh within 1,000 cells a side, so data
    /// spread over thousands of units still draws in a moment, and within
    /// 2·10⁸ multiply-adds in all, so a wide network does too. Computed
    /// once, however many pictures are drawn.
    pub fn mesh(&self) -> (Vec<Vec<usize>>, [f64; 4]) {
        self.mesh.get_or_init(|| self.compute_mesh()).clone()
    }

    fn compute_mesh(&self) -> Mesh {
        let (mut x0, mut x1, mut y0, mut y1) = (
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
        );
        for p in &self.data.x {
            (x0, x1, y0, y1) = (x0.min(p[0]), x1.max(p[0]), y0.min(p[1]), y1.max(p[1]));
        }
        let (x0, x1, y0, y1) = (x0 - 0.5, x1 + 0.5, y0 - 0.5, y1 + 0.5);
        let work = self.weights.num_parameters() as f64;
        let step = self
            .step
            .max((x1 - x0).max(y1 - y0) / MAX_CELLS)
            .max(((x1 - x0) * (y1 - y0) * work / MAX_MESH_WORK).sqrt());
        let columns = ((x1 - x0) / step).ceil() as usize;
        let rows = ((y1 - y0) / step).ceil() as usize;
        let classes = self.classes();
        let mut inputs = Vec::new();
        let mesh = (0..rows)
            .map(|r| {
                let y = y0 + (r as f64 + 0.5) * step;
                (0..columns)
                    .map(|c| {
                        let x = x0 + (c as f64 + 0.5) * step;
                        let outputs = match self.features {
                            Some(features) => {
                                features.map_into(&[x, y], &mut inputs);
                                self.weights.predict(&inputs)
                            }
                            None => self.weights.predict(&[x, y]),
                        };
                        let label = self.task.predict(outputs);
                        classes.iter().position(|&k| k == label).unwrap_or(0)
                    })
                    .collect()
            })
            .collect();
        (
            mesh,
            [x0, x0 + columns as f64 * step, y0, y0 + rows as f64 * step],
        )
    }

    fn classes(&self) -> Vec<f64> {
        self.task
            .classes()
            .map_or_else(Vec::new, |c| c.labels().to_vec())
    }

    /// Writes the plot to `path`, PNG or SVG by its extension.
    ///
    /// # Errors
    ///
    /// [`Error::Data`] for another extension, [`Error::Render`] if drawing
    /// fails, [`Error::Io`] if the file cannot be written.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        save_plot(path.as_ref(), (900, 700), self)
    }

    /// The plot as SVG text, as [`save`](DecisionBoundary::save) writes it.
    ///
    /// # Errors
    ///
    /// [`Error::Render`] if drawing fails.
    pub fn to_svg(&self) -> Result<String> {
        plot_svg((900, 700), self)
    }
}

impl Drawing for DecisionBoundary<'_> {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()> {
        let (mesh, bounds) = self.mesh.get_or_init(|| self.compute_mesh());
        let [x0, x1, y0, y1] = *bounds;
        let classes = self.classes();
        area.fill(&WHITE).map_err(render_error)?;
        let mut chart = ChartBuilder::on(area)
            .caption(&self.title, (FONT, 22))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(48)
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(render_error)?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc("x1")
            .y_desc("x2")
            .label_style((FONT, 14))
            .x_label_formatter(&|v| short_number(*v))
            .y_label_formatter(&|v| short_number(*v))
            .draw()
            .map_err(render_error)?;
        // One rectangle per run of equal cells in a row: the same picture as
        // a cell each, at a fraction of the SVG's size.
        let h = (x1 - x0) / mesh.first().map_or(1, Vec::len) as f64;
        let runs = mesh.iter().enumerate().flat_map(|(r, row)| {
            let y = y0 + r as f64 * h;
            let mut runs = Vec::new();
            let mut start = 0;
            for c in 1..=row.len() {
                if c == row.len() || row[c] != row[start] {
                    runs.push((x0 + start as f64 * h, x0 + c as f64 * h, y, row[start]));
                    start = c;
                }
            }
            runs
        });
        chart
            .draw_series(runs.map(|(xa, xb, y, k)| {
                let fill = over_white(class_color(k), 0.45);
                Rectangle::new([(xa, y), (xb, y + h)], fill.filled())
            }))
            .map_err(render_error)?;
        for (p, &label) in self.data.x.iter().zip(&self.data.y) {
            let k = classes.iter().position(|&c| c == label).unwrap_or(0);
            let color = class_color(k);
            chart
                .draw_series([
                    Circle::new((p[0], p[1]), 5, color.filled()),
                    Circle::new((p[0], p[1]), 5, BLACK.stroke_width(1)),
                ])
                .map_err(render_error)?;
        }
        area.present().map_err(render_error)
    }
}

/// Loss and accuracy per step, one above the other; on the held-out
/// points too, where the steps measured them.
#[derive(Clone, Debug)]
pub struct TrainingCurves<'a> {
    records: &'a [StepRecord],
}

impl<'a> TrainingCurves<'a> {
    /// The curves of these steps.
    pub fn new(records: &'a [StepRecord]) -> Self {
        TrainingCurves { records }
    }

    /// Writes the plot to `path`, PNG or SVG by its extension.
    ///
    /// # Errors
    ///
    /// [`Error::Data`] for another extension or no steps, [`Error::Render`]
    /// if drawing fails, [`Error::Io`] if the file cannot be written.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        if self.records.is_empty() {
            return Err(Error::Data("no training steps to plot".into()));
        }
        save_plot(path.as_ref(), (900, 700), self)
    }

    /// The plot as SVG text, as [`save`](TrainingCurves::save) writes it.
    ///
    /// # Errors
    ///
    /// [`Error::Data`] if there are no steps, [`Error::Render`] if drawing
    /// fails.
    pub fn to_svg(&self) -> Result<String> {
        if self.records.is_empty() {
            return Err(Error::Data("no training steps to plot".into()));
        }
        plot_svg((900, 700), self)
    }
}

impl Drawing for TrainingCurves<'_> {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()> {
        area.fill(&WHITE).map_err(render_error)?;
        let has_accuracy = self.records.iter().any(|r| r.accuracy.is_some());
        let (top, bottom) = if has_accuracy {
            area.split_vertically(350)
        } else {
            area.split_vertically(700)
        };
        let last = self.records.last().map_or(0, |r| r.step) as f64;
        let first = self.records.first().map_or(0, |r| r.step) as f64;
        let last = last.max(first + 1.0);
        let held_out = self.records.iter().any(|r| r.test_loss.is_some());
        let losses = self
            .records
            .iter()
            .flat_map(|r| [Some(r.loss), r.test_loss])
            .flatten()
            .filter(|l| l.is_finite() && *l > 0.0);
        let (low, high) = losses.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), l| {
            (a.min(l), b.max(l))
        });
        let (low, high) = if low.is_finite() {
            (low / 1.5, high * 1.5)
        } else {
            (1e-3, 1.0)
        };

        let mut chart = ChartBuilder::on(&top)
            .caption("loss", (FONT, 20))
            .margin(12)
            .x_label_area_size(30)
            .y_label_area_size(70)
            .build_cartesian_2d(first..last, (low..high).log_scale())
            .map_err(render_error)?;
        chart
            .configure_mesh()
            .x_desc("step")
            .label_style((FONT, 14))
            .x_label_formatter(&|v| format!("{v:.0}"))
            .y_label_formatter(&|v| short_number(*v))
            .draw()
            .map_err(render_error)?;
        let loss_color = spectral(0.1);
        let test_color = spectral(0.3);
        chart
            .draw_series(LineSeries::new(
                self.records
                    .iter()
                    .filter(|r| r.loss > 0.0)
                    .map(|r| (r.step as f64, r.loss)),
                loss_color.stroke_width(2),
            ))
            .map_err(render_error)?
            .label("training")
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], loss_color));
        if held_out {
            chart
                .draw_series(LineSeries::new(
                    self.records.iter().filter_map(|r| {
                        let loss = r.test_loss.filter(|&l| l > 0.0)?;
                        Some((r.step as f64, loss))
                    }),
                    test_color.stroke_width(2),
                ))
                .map_err(render_error)?
                .label("held out")
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], test_color));
            chart
                .configure_series_labels()
                .label_font((FONT, 14))
                .background_style(WHITE.mix(0.8))
                .border_style(BLACK)
                .draw()
                .map_err(render_error)?;
        }

        if has_accuracy {
            let mut chart = ChartBuilder::on(&bottom)
                .caption("accuracy", (FONT, 20))
                .margin(12)
                .x_label_area_size(36)
                .y_label_area_size(70)
                .build_cartesian_2d(first..last, 0.0..100.0)
                .map_err(render_error)?;
            chart
                .configure_mesh()
                .x_desc("step")
                .y_desc("%")
                .label_style((FONT, 14))
                .x_label_formatter(&|v| format!("{v:.0}"))
                .y_label_formatter(&|v| format!("{v:.0}"))
                .draw()
                .map_err(render_error)?;
            let (color, test_color) = (spectral(0.9), spectral(0.7));
            chart
                .draw_series(LineSeries::new(
                    self.records
                        .iter()
                        .filter_map(|r| Some((r.step as f64, r.accuracy? * 100.0))),
                    color.stroke_width(2),
                ))
                .map_err(render_error)?
                .label("training")
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], color));
            if held_out {
                chart
                    .draw_series(LineSeries::new(
                        self.records
                            .iter()
                            .filter_map(|r| Some((r.step as f64, r.test_accuracy? * 100.0))),
                        test_color.stroke_width(2),
                    ))
                    .map_err(render_error)?
                    .label("held out")
                    .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], test_color));
                chart
                    .configure_series_labels()
                    .position(SeriesLabelPosition::LowerRight)
                    .label_font((FONT, 14))
                    .background_style(WHITE.mix(0.8))
                    .border_style(BLACK)
                    .draw()
                    .map_err(render_error)?;
            }
        }
        area.present().map_err(render_error)
    }
}

/// RGB pixels as PNG bytes.
fn encode_png(pixels: &[u8], (width, height): (u32, u32)) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    let mut encoder = png::Encoder::new(&mut bytes, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder
        .write_header()
        .and_then(|mut writer| writer.write_image_data(pixels))
        .map_err(|e| Error::Render(format!("cannot encode the PNG: {e}")))?;
    Ok(bytes)
}

/// Something plotters can draw on any backend.
trait Drawing {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()>;
}

/// Draws `drawing` on a PNG or SVG backend of `size` pixels, chosen by
/// `path`'s extension, and writes the file whole or not at all.
fn save_plot(path: &Path, size: (u32, u32), drawing: &impl Drawing) -> Result<()> {
    embedded_font();
    match Format::of(path, &["png", "svg"])? {
        Format::Png => {
            let (width, height) = size;
            let mut pixels = vec![0u8; width as usize * height as usize * 3];
            {
                let area = BitMapBackend::with_buffer(&mut pixels, size).into_drawing_area();
                drawing.draw(&area)?;
            }
            write_atomically(path, &encode_png(&pixels, size)?)
        }
        Format::Svg => write_atomically(path, plot_svg(size, drawing)?.as_bytes()),
        Format::Dot => unreachable!("not an allowed extension"),
    }
}

/// `drawing` on an SVG backend of `size` pixels, as text.
fn plot_svg(size: (u32, u32), drawing: &impl Drawing) -> Result<String> {
    embedded_font();
    let mut svg = String::new();
    {
        let area = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        drawing.draw(&area)?;
    }
    Ok(svg)
}
