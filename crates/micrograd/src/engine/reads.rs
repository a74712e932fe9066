//! What a function read and wrote while a [`Recording`](super::trace)
//! traced it: the numbers a replay's guards compare, kept by the tape as
//! its values are read.

use super::lane_slab::{LaneSlab, SINGLE};
use super::node::Node;

/// The numbers read while tracing, and whether a value was written.
#[derive(Default)]
pub(crate) struct TraceLog {
    reads: Vec<Read>,
    wrote: bool,
}

/// A number read while tracing, and the node it was read from.
enum Read {
    One(u32, u64),
    Lanes(u32, Vec<f64>),
}

impl TraceLog {
    /// Node `index`'s forward value was read as `data`.
    pub(crate) fn read(&mut self, index: u32, data: f64) {
        self.reads.push(Read::One(index, data.to_bits()));
    }

    /// Node `index`'s lanes (or its number) were read.
    pub(crate) fn read_lanes(&mut self, index: u32, nodes: &[Node], slab: &LaneSlab) {
        let node = &nodes[index as usize];
        let read = if node.lanes == SINGLE {
            Read::One(index, node.data.to_bits())
        } else {
            Read::Lanes(index, slab.data[slab.span(node.lanes)].to_vec())
        };
        self.reads.push(read);
    }

    /// A value's data was overwritten.
    pub(crate) fn write(&mut self) {
        self.wrote = true;
    }

    /// Whether a value's data was overwritten.
    pub(crate) fn wrote(&self) -> bool {
        self.wrote
    }

    /// Whether every number read is still what it was.
    pub(crate) fn holds(&self, nodes: &[Node], slab: &LaneSlab) -> bool {
        self.reads.iter().all(|read| match read {
            Read::One(i, bits) => nodes[*i as usize].data.to_bits() == *bits,
            Read::Lanes(i, lanes) => {
                let now = &slab.data[slab.span(nodes[*i as usize].lanes)];
                now.len() == lanes.len()
                    && now
                        .iter()
                        .zip(lanes)
                        .all(|(a, b)| a.to_bits() == b.to_bits())
            }
        })
    }
}
