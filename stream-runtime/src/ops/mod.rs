//! Per-batch transformations: one operator per file, each adding methods to
//! [`DStream`](crate::DStream).

mod cogroup;
mod combine_by_key;
mod count;
mod count_by_value;
mod filter;
mod flat_map;
mod gather;
mod glom;
mod group_by_key;
mod join;
mod map;
mod map_partitions;
mod map_values;
mod operator;
mod reduce;
mod reduce_by_key;
pub(crate) mod remember;
mod repartition;
mod transform;
mod union;

pub use cogroup::CoGrouped;
pub(crate) use combine_by_key::Aggregator;
pub(crate) use gather::gather_batch;
