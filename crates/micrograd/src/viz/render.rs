//! Graphs to SVG and PNG in pure Rust: layout and SVG by graphviz-pure (a
//! port of Graphviz), PNG by its resvg-based rasterizer with bundled fonts.
//! Nothing is needed from the system. In WebAssembly, SVG only: a page
//! rasterizes SVG itself, and the rasterizer's fonts would weigh more than
//! the rest of the module.

use std::path::Path;

#[cfg(not(target_arch = "wasm32"))]
use graphviz_pure_raster::RasterFormat;

use super::Graph;
use super::format::Format;
use crate::error::{Error, Result};
use crate::whole_file::write_atomically;

/// Graphviz's raster resolution.
#[cfg(not(target_arch = "wasm32"))]
const DEFAULT_DPI: f64 = 96.0;

/// The longest side of a PNG, in pixels: a whole MLP's graph is reduced to
/// this (its SVG keeps every detail).
pub const MAX_PNG_SIDE: f64 = 10_000.0;

/// The most layout work ([`Graph::layout_size`]) drawn to SVG or PNG: about
/// a second of graphviz-pure on the machines this was measured on (100
/// `x*y` terms take 0.5 s at 10,000; 200 uses of one variable 0.9 s at
/// 40,000; the work grows faster than the size, and 300 `x*y` terms at
/// 90,000 take 6.5 s).
pub const MAX_LAYOUT: usize = 50_000;

/// Past this layout work, `dot`'s network-simplex and crossing-minimizing
/// passes are bounded (Graphviz's `nslimit`, `nslimit1`, `mclimit`) and
/// edges are straight lines (`splines=line`): the picture stays readable
/// and its time near-linear. The lecture's graphs
/// are far below it and keep Graphviz's exact layout.
const BOUNDED_LAYOUT: usize = 5_000;

/// Below [`BOUNDED_LAYOUT`], the network-simplex pivots that place the
/// nodes, times the layout work (each pivot is about one pass over the
/// layout), are held under this: about a second. One value used by 70
/// operations (`x+x+...+x`, 4,971 units) took 13 s unbounded, some 5,700
/// pivots. The lecture's graphs need far fewer than they are allowed (its
/// loss over four examples, 2,443 units: fewer than 659, one per node,
/// against 1,637 allowed), so their layout is still Graphviz's exact one.
const PLACING_WORK: usize = 4_000_000;

impl Graph {
    /// The graph laid out and drawn as SVG, as Graphviz's `dot -Tsvg`.
    ///
    /// # Errors
    ///
    /// [`Error::Render`] if graphviz-pure fails (it should not, on the DOT
    /// this crate writes).
    pub fn to_svg(&self) -> Result<String> {
        self.layout("")
    }

    /// The graph as PNG at 96 dpi (or [`dpi`](Graph::dpi)), reduced so that
    /// neither side exceeds 10,000 pixels. Not in WebAssembly.
    ///
    /// # Errors
    ///
    /// [`Error::Render`] if laying out or rasterizing fails.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn to_png(&self) -> Result<Vec<u8>> {
        let requested = self.dpi.unwrap_or(DEFAULT_DPI);
        let plain = self.layout("")?;
        let (width, height) = svg_size_pt(&plain).unwrap_or((0.0, 0.0));
        // Pixels = points × dpi / 72.
        let fits = MAX_PNG_SIDE * 72.0 / width.max(height).max(1.0);
        let dpi = requested.min(fits);
        // Graphviz's default needs no `dpi`; any other resolution is drawn
        // into the SVG, which is then rasterized at one pixel per point.
        let explicit = self.dpi.is_some() || dpi != DEFAULT_DPI;
        let drawn = if explicit {
            self.layout(&format!(", dpi={dpi:.3}"))?
        } else {
            plain
        };
        graphviz_pure_raster::rasterize(&drawn, RasterFormat::Png, explicit)
            .map(graphviz_pure_raster::Rendered::into_output)
            .map_err(|e| Error::Render(format!("rasterizing the graph: {e}")))
    }

    /// Writes the graph to `path` as SVG, PNG or DOT, chosen by the file's
    /// extension (`.svg`, `.png`, `.dot` or `.gv`). The file is written
    /// whole or not at all.
    ///
    /// # Errors
    ///
    /// [`Error::Data`] for another extension, [`Error::Render`] if drawing
    /// fails, [`Error::Io`] if the file cannot be written.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let bytes = match Format::of(path, &["svg", "png", "dot", "gv"])? {
            Format::Svg => self.to_svg()?.into_bytes(),
            #[cfg(not(target_arch = "wasm32"))]
            Format::Png => self.to_png()?,
            #[cfg(target_arch = "wasm32")]
            Format::Png => {
                return Err(Error::Render(
                    "PNG is not drawn in WebAssembly: draw SVG".into(),
                ));
            }
            Format::Dot => self.to_dot().into_bytes(),
        };
        write_atomically(path, &bytes)
    }
}

impl Graph {
    /// The graph laid out as SVG, with `extra` graph attributes; refused
    /// past [`MAX_LAYOUT`], bounded past [`BOUNDED_LAYOUT`], its placing
    /// bounded by [`PLACING_WORK`] below.
    fn layout(&self, extra: &str) -> Result<String> {
        let size = self.layout_size();
        if size > MAX_LAYOUT {
            return Err(Error::Render(format!(
                "the graph is too large to draw in seconds (its layout would take {size} units \
                 of work; the most is {MAX_LAYOUT}, and a value used by many operations costs the \
                 most): write it as DOT (--dot, or a .dot file) and draw it with Graphviz's dot"
            )));
        }
        let bounds = if size > BOUNDED_LAYOUT {
            // Straight edges: routing splines around the many virtual
            // nodes of long edges took seconds (a value used by 130
            // additions and another used by 3: 3 s, 0.2 s with lines).
            ", nslimit=1, nslimit1=1, mclimit=0.01, splines=line".to_owned()
        } else {
            // Graphviz stops placing after `nslimit` pivots per node.
            let pivots = PLACING_WORK as f64 / size as f64;
            format!(", nslimit={:.3}", pivots / self.dot_nodes() as f64)
        };
        let dot = self.dot_with(&format!("{bounds}{extra}"));
        graphviz_pure::render_dot(&dot, "dot", "svg")
            .map(graphviz_pure::Rendered::into_output)
            .map_err(|e| Error::Render(format!("laying out the graph: {e}")))
    }
}

/// The `width="…pt" height="…pt"` of Graphviz's SVG.
#[cfg(not(target_arch = "wasm32"))]
fn svg_size_pt(svg: &str) -> Option<(f64, f64)> {
    let attr = |name: &str| -> Option<f64> {
        let start = svg.find(&format!("{name}=\""))? + name.len() + 2;
        let rest = &svg[start..];
        rest[..rest.find("pt\"")?].parse().ok()
    };
    Some((attr("width")?, attr("height")?))
}
