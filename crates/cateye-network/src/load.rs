//! The interference graph read from an edge list: a table of `source, target[, weight]` rows in
//! a Parquet, CSV or Arrow IPC file, or in record batches in memory (any [`Source`]).
//!
//! Node ids are the user's: integers of any Arrow integer type, or strings (`Utf8`, `LargeUtf8`,
//! `Utf8View`, or a dictionary of them, which is how Parquet string columns arrive). They are
//! mapped to the dense node indices `0..n` of [`Graph`] in order of first appearance (row by
//! row, the source before the target), so the same table always gives the same graph; the
//! mapping is kept in [`NodeIds`]. With a node list (the unit id column of the outcome or
//! assignment table, say) the indices follow the rows of that list instead, units without an
//! edge become isolated nodes, and an edge naming a unit the list does not have is an error.
//! [`rows_to_nodes`] maps the rows of an outcome table to the graph's nodes. The kind of a CSV
//! column is inferred from its first rows: a column of digits is read as integers (`007` is the
//! id 7), and the two tables must then agree on the kind.
//!
//! Every refusal names the table, the row (counting from 1, the header not counted) and the
//! column: a null id, a self-loop (named by the user's id), an id that is not in the node list,
//! a unit listed twice, a weight that is not a finite positive number. Edges given more than
//! once (in either direction) are merged, their weights added, and counted in the
//! [`EdgeReport`].
//!
//! The table is read in batches of [`BATCH_ROWS`] rows. Ids already seen are looked up in
//! parallel (an `FxHashMap` from id to index, read-only during the lookups); only the ids seen
//! for the first time are then inserted, one by one in row order, which keeps the numbering
//! independent of the number of threads. Integer ids never become strings, and each distinct
//! string id is allocated once (the map and the list of ids share it), so 20 million edges
//! among a million nodes cost the 160 MB of the edge pairs plus the graph itself.

use std::fmt;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Int64Array, LargeStringArray, StringArray, StringViewArray};
use arrow::compute::{cast_with_options, CastOptions};
use arrow::datatypes::{DataType, Float64Type, Int64Type};
use cateye_io::{column_index, numeric_column_index, IoError, Source};
use cateye_stats::Progress;
use rayon::prelude::*;
use rustc_hash::FxHashMap;

use crate::error::{NetworkError, Result};
use crate::graph::{EdgeReport, Graph};

/// Rows of the edge list read at a time.
pub const BATCH_ROWS: usize = 65_536;

/// A node index not (yet) known.
const UNKNOWN: u32 = u32::MAX;

/// Ids looked up per parallel task.
const LOOKUP_CHUNK: usize = 4_096;

/// The columns of an edge list: the two endpoints of each edge and, optionally, its weight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EdgeColumns {
    /// The column of one endpoint (default `source`).
    pub source: String,
    /// The column of the other endpoint (default `target`). The graph is undirected: which
    /// endpoint is which does not matter.
    pub target: String,
    /// The column of edge weights (finite, above 0), or `None` for an unweighted graph.
    pub weight: Option<String>,
}

impl Default for EdgeColumns {
    fn default() -> Self {
        EdgeColumns { source: "source".into(), target: "target".into(), weight: None }
    }
}

/// The list of every node of the graph: one column of a table, one row per unit (for
/// instance the unit id column of the outcome or assignment table).
#[derive(Debug, Clone, Copy)]
pub struct NodeList<'a> {
    /// The table.
    pub table: &'a Source,
    /// The column of unit ids.
    pub column: &'a str,
}

/// Whether node ids are integers or strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IdKind {
    /// Integer ids (any Arrow integer type, read as `i64`).
    Int,
    /// String ids.
    Str,
}

impl fmt::Display for IdKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            IdKind::Int => "integers",
            IdKind::Str => "strings",
        })
    }
}

/// One user node id, borrowed from [`NodeIds`]; it displays as the user wrote it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NodeId<'a> {
    /// An integer id.
    Int(i64),
    /// A string id.
    Str(&'a str),
}

impl fmt::Display for NodeId<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NodeId::Int(v) => write!(f, "{v}"),
            NodeId::Str(s) => f.write_str(s),
        }
    }
}

/// The user's id of every node: node index `i` of the graph is the unit `get(i)`, and
/// [`NodeIds::index_of`] goes back from an id to its index (an `FxHashMap` lookup).
#[derive(Clone)]
pub struct NodeIds {
    repr: Repr,
}

#[derive(Clone)]
enum Repr {
    Int { ids: Vec<i64>, index: FxHashMap<i64, u32> },
    Str { ids: Vec<Arc<str>>, index: FxHashMap<Arc<str>, u32> },
}

impl fmt::Debug for NodeIds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown: Vec<String> = self.iter().take(8).map(|id| id.to_string()).collect();
        f.debug_struct("NodeIds").field("kind", &self.kind()).field("len", &self.len()).field("first", &shown).finish()
    }
}

impl PartialEq for NodeIds {
    fn eq(&self, other: &Self) -> bool {
        match (&self.repr, &other.repr) {
            (Repr::Int { ids: a, .. }, Repr::Int { ids: b, .. }) => a == b,
            (Repr::Str { ids: a, .. }, Repr::Str { ids: b, .. }) => a == b,
            _ => false,
        }
    }
}

impl NodeIds {
    /// No ids yet, of the kind given.
    fn empty(kind: IdKind) -> Self {
        let repr = match kind {
            IdKind::Int => Repr::Int { ids: Vec::new(), index: FxHashMap::default() },
            IdKind::Str => Repr::Str { ids: Vec::new(), index: FxHashMap::default() },
        };
        NodeIds { repr }
    }

    /// Integer ids, node `i` being `ids[i]`; an id given twice is an error naming both positions.
    pub fn from_ints(ids: Vec<i64>) -> Result<Self> {
        let mut out = NodeIds::empty(IdKind::Int);
        for (k, &id) in ids.iter().enumerate() {
            out.insert_new(NodeId::Int(id)).map_err(|first| duplicate_position(id, first, k))?;
        }
        Ok(out)
    }

    /// String ids, node `i` being the `i`-th; an id given twice is an error naming both
    /// positions.
    pub fn from_strings<S: AsRef<str>>(ids: impl IntoIterator<Item = S>) -> Result<Self> {
        let mut out = NodeIds::empty(IdKind::Str);
        for (k, id) in ids.into_iter().enumerate() {
            let id = id.as_ref();
            out.insert_new(NodeId::Str(id)).map_err(|first| duplicate_position(id, first, k))?;
        }
        Ok(out)
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Int { ids, .. } => ids.len(),
            Repr::Str { ids, .. } => ids.len(),
        }
    }

    /// Whether there are no nodes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the ids are integers or strings.
    pub fn kind(&self) -> IdKind {
        match &self.repr {
            Repr::Int { .. } => IdKind::Int,
            Repr::Str { .. } => IdKind::Str,
        }
    }

    /// The id of node `index`, or `None` past the last node.
    pub fn get(&self, index: usize) -> Option<NodeId<'_>> {
        match &self.repr {
            Repr::Int { ids, .. } => ids.get(index).map(|&v| NodeId::Int(v)),
            Repr::Str { ids, .. } => ids.get(index).map(|s| NodeId::Str(s)),
        }
    }

    /// The node index of `id`, or `None` when no node has it (or it is of the other kind).
    pub fn index_of(&self, id: NodeId<'_>) -> Option<u32> {
        match (&self.repr, id) {
            (Repr::Int { index, .. }, NodeId::Int(v)) => index.get(&v).copied(),
            (Repr::Str { index, .. }, NodeId::Str(s)) => index.get(s).copied(),
            _ => None,
        }
    }

    /// The ids in node order.
    pub fn iter(&self) -> impl Iterator<Item = NodeId<'_>> + '_ {
        (0..self.len()).filter_map(move |i| self.get(i))
    }

    /// The integer ids in node order, when the ids are integers.
    pub fn as_ints(&self) -> Option<&[i64]> {
        match &self.repr {
            Repr::Int { ids, .. } => Some(ids),
            Repr::Str { .. } => None,
        }
    }

    /// The ids as an Arrow column in node order (`Int64` or `Utf8`), for per-unit output tables.
    pub fn to_array(&self) -> ArrayRef {
        match &self.repr {
            Repr::Int { ids, .. } => Arc::new(Int64Array::from(ids.clone())),
            Repr::Str { ids, .. } => Arc::new(StringArray::from_iter_values(ids.iter().map(|s| &**s))),
        }
    }

    /// Adds `id` as the next node, or gives the index it already has as the error.
    fn insert_new(&mut self, id: NodeId<'_>) -> std::result::Result<u32, u32> {
        if let Some(i) = self.index_of(id) {
            return Err(i);
        }
        Ok(self.push(id))
    }

    /// The index of `id`, adding it as the next node when it is new.
    fn intern(&mut self, id: NodeId<'_>) -> u32 {
        match self.index_of(id) {
            Some(i) => i,
            None => self.push(id),
        }
    }

    /// Appends `id`, known to be new and of this kind.
    fn push(&mut self, id: NodeId<'_>) -> u32 {
        let next = self.len() as u32;
        match (&mut self.repr, id) {
            (Repr::Int { ids, index }, NodeId::Int(v)) => {
                ids.push(v);
                index.insert(v, next);
            }
            (Repr::Str { ids, index }, NodeId::Str(s)) => {
                let s: Arc<str> = Arc::from(s);
                ids.push(s.clone());
                index.insert(s, next);
            }
            // Callers check the kind first.
            _ => return UNKNOWN,
        }
        next
    }
}

fn duplicate_position(id: impl fmt::Display, first: u32, second: usize) -> NetworkError {
    NetworkError::invalid(format!(
        "node id '{id}' is given twice (positions {} and {}, counting from 1); every node needs its own id",
        first as usize + 1,
        second + 1
    ))
}

/// The graph read from an edge list, with the user's id of every node.
#[derive(Debug, Clone)]
pub struct LoadedGraph {
    /// The graph on nodes `0..n`.
    pub graph: Graph,
    /// The user's id of each node.
    pub ids: NodeIds,
    /// What happened to the edges: rows read, duplicates merged, isolated nodes.
    pub report: EdgeReport,
}

/// Reads the graph of the edge list `edges` (see the module documentation). Without `nodes`,
/// the nodes are the ids the edges name, numbered in order of first appearance; with `nodes`,
/// they are the units of that list, in its row order, and every edge must join two of them.
pub fn load_graph(edges: &Source, columns: &EdgeColumns, nodes: Option<NodeList<'_>>) -> Result<LoadedGraph> {
    load_graph_reporting(edges, columns, nodes, &cateye_stats::silent)
}

/// [`load_graph`], reporting the rows read to `progress` (stage "reading edges"; the total is
/// 0 when the source does not know its row count in advance).
pub fn load_graph_reporting(
    edges: &Source,
    columns: &EdgeColumns,
    nodes: Option<NodeList<'_>>,
    progress: Progress<'_>,
) -> Result<LoadedGraph> {
    let label = edges.label();
    if columns.source == columns.target {
        return Err(NetworkError::invalid(format!(
            "edge list {label}: the source and the target columns are both '{}'; name two columns",
            columns.source
        )));
    }
    let source_at = column_index(edges, &columns.source, "edge source")?;
    let target_at = column_index(edges, &columns.target, "edge target")?;
    let weight_at = match &columns.weight {
        Some(w) => Some(numeric_column_index(edges, w, "edge weight")?),
        None => None,
    };
    let source_kind = id_kind(edges, source_at, "edge source")?;
    let target_kind = id_kind(edges, target_at, "edge target")?;
    if source_kind != target_kind {
        return Err(NetworkError::invalid(format!(
            "edge list {label}: column '{}' holds {source_kind} and column '{}' holds {target_kind}; \
             the two endpoint columns must hold node ids of one kind",
            columns.source, columns.target
        )));
    }
    let (mut ids, fixed) = match nodes {
        Some(list) => {
            let ids = read_node_list(list)?;
            if ids.kind() != source_kind {
                return Err(NetworkError::invalid(format!(
                    "edge list {label}: columns '{}' and '{}' hold {source_kind} but {} column '{}' holds {}; \
                     the node ids of the edge list and of the node list must be of one kind",
                    columns.source,
                    columns.target,
                    list.table.label(),
                    list.column,
                    ids.kind()
                )));
            }
            (ids, Some(list))
        }
        None => (NodeIds::empty(source_kind), None),
    };

    let mut projection = vec![source_at, target_at];
    projection.extend(weight_at);
    projection.sort_unstable();
    projection.dedup();
    let position = |at: usize| projection.iter().position(|&p| p == at).unwrap_or(0);
    let (source_pos, target_pos, weight_pos) = (position(source_at), position(target_at), weight_at.map(position));

    let total = edges.num_rows().unwrap_or(0);
    let mut pairs: Vec<(u32, u32)> = Vec::with_capacity(total as usize);
    let mut weights: Option<Vec<f64>> = weight_at.map(|_| Vec::with_capacity(total as usize));
    let (mut source_index, mut target_index) = (Vec::new(), Vec::new());
    let mut read = 0u64;
    progress("reading edges", 0, total);
    for batch in edges.batches(&projection, BATCH_ROWS)? {
        let batch = batch?;
        let n = batch.num_rows();
        if n == 0 {
            continue;
        }
        let at = |r: usize| read + r as u64 + 1;
        let source = IdColumn::new(batch.column(source_pos), &columns.source, source_kind, label)?;
        let target = IdColumn::new(batch.column(target_pos), &columns.target, source_kind, label)?;
        for column in [&source, &target] {
            if let Some(r) = column.first_null {
                return Err(NetworkError::invalid(format!(
                    "edge list {label} row {}: column '{}' is null; every edge needs both of its nodes",
                    at(r),
                    column.name
                )));
            }
        }
        source.lookup(&ids, &mut source_index);
        target.lookup(&ids, &mut target_index);
        for r in 0..n {
            for (column, index) in [(&source, &mut source_index), (&target, &mut target_index)] {
                if index[r] == UNKNOWN {
                    let id = column.values.id(r);
                    index[r] = match fixed {
                        None => ids.intern(id),
                        Some(list) => {
                            return Err(NetworkError::invalid(format!(
                                "edge list {label} row {}: node id '{id}' in column '{}' is not in {} column '{}'",
                                at(r),
                                column.name,
                                list.table.label(),
                                list.column
                            )))
                        }
                    };
                    if index[r] == UNKNOWN {
                        return Err(NetworkError::invalid(format!(
                            "edge list {label} row {}: more than {} distinct node ids; at most that many are supported",
                            at(r),
                            UNKNOWN - 1
                        )));
                    }
                }
            }
            if source_index[r] == target_index[r] {
                return Err(NetworkError::invalid(format!(
                    "edge list {label} row {}: node '{}' is joined to itself (columns '{}' and '{}'); \
                     self-loops are not allowed in an interference graph",
                    at(r),
                    source.values.id(r),
                    columns.source,
                    columns.target
                )));
            }
        }
        pairs.extend(source_index.iter().copied().zip(target_index.iter().copied()));
        if let (Some(pos), Some(w), Some(name)) = (weight_pos, weights.as_mut(), columns.weight.as_deref()) {
            read_weights(batch.column(pos), name, label, read, w)?;
        }
        read += n as u64;
        progress("reading edges", read, total.max(read));
    }
    let (graph, report) = Graph::from_edges(ids.len(), &pairs, weights.as_deref())?;
    Ok(LoadedGraph { graph, ids, report })
}

/// Reads a node list: one id per row, no nulls, no id twice; node `i` is the unit of row `i + 1`.
pub fn read_node_list(list: NodeList<'_>) -> Result<NodeIds> {
    let table = list.table;
    let label = table.label();
    let at = column_index(table, list.column, "node id")?;
    let kind = id_kind(table, at, "node id")?;
    let mut ids = NodeIds::empty(kind);
    let mut read = 0u64;
    for batch in table.batches(&[at], BATCH_ROWS)? {
        let batch = batch?;
        if batch.num_rows() == 0 {
            continue;
        }
        let column = IdColumn::new(batch.column(0), list.column, kind, label)?;
        if let Some(r) = column.first_null {
            return Err(NetworkError::invalid(format!(
                "node list {label} row {}: column '{}' is null; every unit needs an id",
                read + r as u64 + 1,
                list.column
            )));
        }
        for r in 0..batch.num_rows() {
            let id = column.values.id(r);
            if let Err(first) = ids.insert_new(id) {
                return Err(NetworkError::invalid(format!(
                    "node list {label} column '{}': rows {} and {} both hold unit id '{id}'; each unit must appear once",
                    list.column,
                    first as u64 + 1,
                    read + r as u64 + 1
                )));
            }
            if ids.len() > UNKNOWN as usize - 1 {
                return Err(NetworkError::invalid(format!(
                    "node list {label}: more than {} units; at most that many are supported",
                    UNKNOWN - 1
                )));
            }
        }
        read += batch.num_rows() as u64;
    }
    Ok(ids)
}

/// Which node each row of a table is, and which row each node has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowNodes {
    /// The node index of each row of the table.
    pub node_of_row: Vec<u32>,
    /// The row (counting from 0) of each node, `None` for a node the table has no row for.
    pub row_of_node: Vec<Option<u32>>,
}

impl RowNodes {
    /// Number of nodes the table has no row for.
    pub fn nodes_without_row(&self) -> usize {
        self.row_of_node.iter().filter(|r| r.is_none()).count()
    }
}

/// Maps each row of `table` (an outcome or assignment table, one row per unit) to the node of
/// the graph whose id is in its `column`. A null id, an id that is not a node of the graph, and
/// two rows of one unit are errors naming the rows; nodes without a row are allowed (see
/// [`RowNodes::nodes_without_row`]).
pub fn rows_to_nodes(ids: &NodeIds, table: &Source, column: &str) -> Result<RowNodes> {
    let label = table.label();
    let at = column_index(table, column, "unit id")?;
    let kind = id_kind(table, at, "unit id")?;
    if kind != ids.kind() {
        return Err(NetworkError::invalid(format!(
            "{label}: column '{column}' holds {kind} but the node ids of the graph are {}; \
             the unit ids must be of the kind of the edge list's",
            ids.kind()
        )));
    }
    let mut node_of_row = Vec::with_capacity(table.num_rows().unwrap_or(0) as usize);
    let mut row_of_node = vec![None; ids.len()];
    let mut index = Vec::new();
    let mut read = 0u64;
    for batch in table.batches(&[at], BATCH_ROWS)? {
        let batch = batch?;
        if batch.num_rows() == 0 {
            continue;
        }
        let values = IdColumn::new(batch.column(0), column, kind, label)?;
        if let Some(r) = values.first_null {
            return Err(NetworkError::invalid(format!(
                "{label} row {}: column '{column}' is null; every unit needs an id",
                read + r as u64 + 1
            )));
        }
        values.lookup(ids, &mut index);
        for (r, &node) in index.iter().enumerate() {
            let row = read + r as u64;
            if node == UNKNOWN {
                return Err(NetworkError::invalid(format!(
                    "{label} row {}: unit id '{}' in column '{column}' is not a node of the graph ({} nodes)",
                    row + 1,
                    values.values.id(r),
                    ids.len()
                )));
            }
            let slot = &mut row_of_node[node as usize];
            if let Some(first) = *slot {
                return Err(NetworkError::invalid(format!(
                    "{label} column '{column}': rows {} and {} both hold unit id '{}'; each unit must have one row",
                    first as u64 + 1,
                    row + 1,
                    values.values.id(r)
                )));
            }
            *slot = Some(u32::try_from(row).map_err(|_| {
                NetworkError::invalid(format!("{label}: more than {} rows; at most that many are supported", u32::MAX))
            })?);
        }
        node_of_row.extend_from_slice(&index);
        read += batch.num_rows() as u64;
    }
    Ok(RowNodes { node_of_row, row_of_node })
}

/// The kind of ids column `at` holds, or an error naming it when it holds neither.
fn id_kind(table: &Source, at: usize, role: &'static str) -> Result<IdKind> {
    let field = table.schema().field(at);
    kind_of(field.data_type()).ok_or_else(|| {
        NetworkError::Io(IoError::WrongType {
            input: table.label().to_string(),
            column: field.name().clone(),
            role,
            found: field.data_type().to_string(),
            expected: "integer or string node ids",
        })
    })
}

fn kind_of(data_type: &DataType) -> Option<IdKind> {
    match data_type {
        t if t.is_integer() => Some(IdKind::Int),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => Some(IdKind::Str),
        DataType::Dictionary(_, values) => kind_of(values),
        _ => None,
    }
}

/// Appends the weights of one batch, refusing nulls and weights that are not finite and positive.
fn read_weights(array: &ArrayRef, name: &str, label: &str, read: u64, out: &mut Vec<f64>) -> Result<()> {
    let options = CastOptions { safe: false, ..Default::default() };
    let floats = cast_with_options(array, &DataType::Float64, &options).map_err(|e| IoError::column(label, name, e))?;
    let floats = floats.as_primitive::<Float64Type>();
    if let Some(r) = floats.logical_nulls().and_then(|nulls| nulls.iter().position(|valid| !valid)) {
        return Err(NetworkError::invalid(format!(
            "edge list {label} row {}: weight column '{name}' is null; every edge needs a weight",
            read + r as u64 + 1
        )));
    }
    let values = floats.values();
    if let Some(r) = values.iter().position(|v| !(v.is_finite() && *v > 0.0)) {
        return Err(NetworkError::invalid(format!(
            "edge list {label} row {}: weight column '{name}' is {}; expected a finite weight above 0",
            read + r as u64 + 1,
            values[r]
        )));
    }
    out.extend_from_slice(values);
    Ok(())
}

/// One batch of an id column, ready to look up.
struct IdColumn<'a> {
    name: &'a str,
    values: IdValues,
    first_null: Option<usize>,
}

/// The ids of one batch. Arrays are reference counted, so these own their (shared) buffers.
enum IdValues {
    Int(Int64Array),
    Str(StrArray),
    /// Strings as keys into a dictionary of values.
    Dict {
        keys: Vec<usize>,
        values: StrArray,
    },
}

enum StrArray {
    Utf8(StringArray),
    Large(LargeStringArray),
    View(StringViewArray),
}

impl StrArray {
    fn of(array: &ArrayRef) -> Option<Self> {
        match array.data_type() {
            DataType::Utf8 => Some(StrArray::Utf8(array.as_string::<i32>().clone())),
            DataType::LargeUtf8 => Some(StrArray::Large(array.as_string::<i64>().clone())),
            DataType::Utf8View => Some(StrArray::View(array.as_string_view().clone())),
            _ => None,
        }
    }

    fn len(&self) -> usize {
        match self {
            StrArray::Utf8(a) => a.len(),
            StrArray::Large(a) => a.len(),
            StrArray::View(a) => a.len(),
        }
    }

    fn value(&self, i: usize) -> &str {
        match self {
            StrArray::Utf8(a) => a.value(i),
            StrArray::Large(a) => a.value(i),
            StrArray::View(a) => a.value(i),
        }
    }
}

impl IdValues {
    fn len(&self) -> usize {
        match self {
            IdValues::Int(a) => a.len(),
            IdValues::Str(a) => a.len(),
            IdValues::Dict { keys, .. } => keys.len(),
        }
    }

    /// The id of row `r` (not null).
    fn id(&self, r: usize) -> NodeId<'_> {
        match self {
            IdValues::Int(a) => NodeId::Int(a.value(r)),
            IdValues::Str(a) => NodeId::Str(a.value(r)),
            IdValues::Dict { keys, values } => NodeId::Str(values.value(keys[r])),
        }
    }
}

impl<'a> IdColumn<'a> {
    /// Column `name` of one batch, its ids of `kind`.
    fn new(array: &ArrayRef, name: &'a str, kind: IdKind, label: &str) -> Result<Self> {
        let first_null = array.logical_nulls().and_then(|nulls| nulls.iter().position(|valid| !valid));
        let wrong = || {
            NetworkError::Io(IoError::WrongType {
                input: label.to_string(),
                column: name.to_string(),
                role: "node id",
                found: array.data_type().to_string(),
                expected: "integer or string node ids",
            })
        };
        let values = match kind {
            IdKind::Int => {
                if kind_of(array.data_type()) != Some(IdKind::Int) {
                    return Err(wrong());
                }
                // Exact conversion: an unsigned id above i64::MAX is an error, not a null.
                let options = CastOptions { safe: false, ..Default::default() };
                let ints = cast_with_options(array, &DataType::Int64, &options)
                    .map_err(|e| IoError::column(label, name, e))?;
                IdValues::Int(ints.as_primitive::<Int64Type>().clone())
            }
            IdKind::Str => match array.as_any_dictionary_opt() {
                Some(dict) => {
                    let values = StrArray::of(dict.values()).ok_or_else(wrong)?;
                    // `normalized_keys` needs values; a dictionary without any has only nulls.
                    let keys = if dict.values().is_empty() { vec![0; array.len()] } else { dict.normalized_keys() };
                    IdValues::Dict { keys, values }
                }
                None => IdValues::Str(StrArray::of(array).ok_or_else(wrong)?),
            },
        };
        Ok(IdColumn { name, values, first_null })
    }

    /// The node index of every row (`UNKNOWN` for ids `ids` does not have), looked up in parallel.
    fn lookup(&self, ids: &NodeIds, out: &mut Vec<u32>) {
        let n = self.values.len();
        out.clear();
        out.resize(n, UNKNOWN);
        match (&self.values, &ids.repr) {
            (IdValues::Int(a), Repr::Int { index, .. }) => {
                let values = a.values();
                out.par_chunks_mut(LOOKUP_CHUNK).zip(values.par_chunks(LOOKUP_CHUNK)).for_each(|(o, v)| {
                    for (slot, id) in o.iter_mut().zip(v) {
                        *slot = index.get(id).copied().unwrap_or(UNKNOWN);
                    }
                });
            }
            (IdValues::Str(a), Repr::Str { index, .. }) => {
                out.par_chunks_mut(LOOKUP_CHUNK).enumerate().for_each(|(c, o)| {
                    for (k, slot) in o.iter_mut().enumerate() {
                        *slot = index.get(a.value(c * LOOKUP_CHUNK + k)).copied().unwrap_or(UNKNOWN);
                    }
                });
            }
            (IdValues::Dict { keys, values }, Repr::Str { index, .. }) => {
                if values.len() <= n {
                    // Each dictionary value once, then the keys.
                    let mut of_value = vec![UNKNOWN; values.len()];
                    of_value.par_chunks_mut(LOOKUP_CHUNK).enumerate().for_each(|(c, o)| {
                        for (k, slot) in o.iter_mut().enumerate() {
                            *slot = index.get(values.value(c * LOOKUP_CHUNK + k)).copied().unwrap_or(UNKNOWN);
                        }
                    });
                    out.par_iter_mut().zip(keys.par_iter()).for_each(|(slot, &k)| *slot = of_value[k]);
                } else {
                    // A dictionary larger than the batch (a row group's): only the values used.
                    out.par_chunks_mut(LOOKUP_CHUNK).zip(keys.par_chunks(LOOKUP_CHUNK)).for_each(|(o, ks)| {
                        for (slot, &k) in o.iter_mut().zip(ks) {
                            *slot = index.get(values.value(k)).copied().unwrap_or(UNKNOWN);
                        }
                    });
                }
            }
            // Kinds are checked against the node ids before any lookup.
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{DictionaryArray, Float64Array, Int32Array, RecordBatch, UInt64Array};
    use arrow::datatypes::{Field, Int32Type, Schema};

    fn table(columns: Vec<(&str, ArrayRef)>) -> Source {
        let schema = Schema::new(
            columns.iter().map(|(name, a)| Field::new(*name, a.data_type().clone(), true)).collect::<Vec<_>>(),
        );
        let batch = RecordBatch::try_new(Arc::new(schema), columns.into_iter().map(|(_, a)| a).collect()).unwrap();
        Source::from_batches(vec![batch]).unwrap().with_label("edges.parquet")
    }

    fn ints(v: &[i64]) -> ArrayRef {
        Arc::new(Int64Array::from(v.to_vec()))
    }

    fn strs(v: &[&str]) -> ArrayRef {
        Arc::new(StringArray::from(v.to_vec()))
    }

    fn edges_of(loaded: &LoadedGraph) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for a in 0..loaded.graph.num_nodes() {
            for &b in loaded.graph.neighbors(a) {
                if (a as u32) < b {
                    let id = |i: usize| loaded.ids.get(i).unwrap().to_string();
                    out.push((id(a), id(b as usize)));
                }
            }
        }
        out
    }

    #[test]
    fn integer_ids_are_numbered_in_order_of_first_appearance() {
        let t = table(vec![("source", ints(&[10, 30, 10, 7])), ("target", ints(&[30, 7, 20, 20]))]);
        let g = load_graph(&t, &EdgeColumns::default(), None).unwrap();
        assert_eq!(g.ids.as_ints().unwrap(), &[10, 30, 7, 20]);
        assert_eq!(g.ids.kind(), IdKind::Int);
        assert_eq!(g.ids.index_of(NodeId::Int(7)), Some(2));
        assert_eq!(g.ids.index_of(NodeId::Int(8)), None);
        assert_eq!(g.ids.index_of(NodeId::Str("7")), None);
        assert_eq!(g.graph.neighbors(0), &[1, 3]);
        assert_eq!(g.report.edges, 4);
        assert!(!g.graph.is_weighted());
    }

    #[test]
    fn integer_ids_of_any_width_and_string_ids_of_any_layout() {
        let t = table(vec![
            ("a", Arc::new(Int32Array::from(vec![1, 2])) as ArrayRef),
            ("b", Arc::new(UInt64Array::from(vec![2u64, 3]))),
        ]);
        let columns = EdgeColumns { source: "a".into(), target: "b".into(), weight: None };
        let g = load_graph(&t, &columns, None).unwrap();
        assert_eq!(g.ids.as_ints().unwrap(), &[1, 2, 3]);

        let expected = vec![("u".to_string(), "v".to_string()), ("v".into(), "w".into())];
        let large: ArrayRef = Arc::new(LargeStringArray::from(vec!["u", "v"]));
        let view: ArrayRef = Arc::new(StringViewArray::from(vec!["v", "w"]));
        let g = load_graph(&table(vec![("source", large), ("target", view)]), &EdgeColumns::default(), None).unwrap();
        assert_eq!(g.ids.kind(), IdKind::Str);
        assert_eq!(edges_of(&g), expected);
        let dict: ArrayRef = Arc::new(vec!["u", "v"].into_iter().collect::<DictionaryArray<Int32Type>>());
        let g =
            load_graph(&table(vec![("source", dict), ("target", strs(&["v", "w"]))]), &EdgeColumns::default(), None)
                .unwrap();
        assert_eq!(edges_of(&g), expected);
        // A dictionary larger than the batch (a Parquet row group's): only the keys used are read.
        let keys = Int32Array::from(vec![3, 1]);
        let values: ArrayRef = Arc::new(StringArray::from(vec!["a", "v", "c", "u"]));
        let dict: ArrayRef = Arc::new(DictionaryArray::<Int32Type>::try_new(keys, values).unwrap());
        let g =
            load_graph(&table(vec![("source", dict), ("target", strs(&["v", "w"]))]), &EdgeColumns::default(), None)
                .unwrap();
        assert_eq!(edges_of(&g), expected);
        assert_eq!(g.ids.to_array().as_string::<i32>().iter().flatten().collect::<Vec<_>>(), ["u", "v", "w"]);
    }

    #[test]
    fn unsigned_ids_too_large_and_other_types_are_refused() {
        let t =
            table(vec![("source", Arc::new(UInt64Array::from(vec![u64::MAX])) as ArrayRef), ("target", ints(&[1]))]);
        let err = load_graph(&t, &EdgeColumns::default(), None).unwrap_err().to_string();
        assert!(err.contains("edges.parquet") && err.contains("'source'"), "{err}");
        let t = table(vec![("source", Arc::new(Float64Array::from(vec![1.0])) as ArrayRef), ("target", ints(&[1]))]);
        let err = load_graph(&t, &EdgeColumns::default(), None).unwrap_err().to_string();
        assert!(err.contains("'source'") && err.contains("integer or string node ids"), "{err}");
        let t = table(vec![("source", strs(&["1"])), ("target", ints(&[2]))]);
        let err = load_graph(&t, &EdgeColumns::default(), None).unwrap_err().to_string();
        assert!(err.contains("one kind"), "{err}");
    }

    #[test]
    fn string_ids_round_trip_through_their_index() {
        let t = table(vec![("source", strs(&["ann", "bob", "ann"])), ("target", strs(&["bob", "cy", "dee"]))]);
        let g = load_graph(&t, &EdgeColumns::default(), None).unwrap();
        assert_eq!(g.ids.iter().map(|i| i.to_string()).collect::<Vec<_>>(), ["ann", "bob", "cy", "dee"]);
        for (i, id) in g.ids.iter().enumerate() {
            assert_eq!(g.ids.index_of(id), Some(i as u32));
        }
        assert_eq!(g.ids, NodeIds::from_strings(["ann", "bob", "cy", "dee"]).unwrap());
    }

    #[test]
    fn null_ids_name_the_row_and_column() {
        let source: ArrayRef = Arc::new(Int64Array::from(vec![Some(1), Some(2), None]));
        let t = table(vec![("source", source), ("target", ints(&[2, 3, 4]))]);
        let err = load_graph(&t, &EdgeColumns::default(), None).unwrap_err().to_string();
        assert!(err.contains("edges.parquet row 3: column 'source' is null"), "{err}");
        let target: ArrayRef = Arc::new(StringArray::from(vec![Some("a"), None]));
        let t = table(vec![("source", strs(&["b", "c"])), ("target", target)]);
        let err = load_graph(&t, &EdgeColumns::default(), None).unwrap_err().to_string();
        assert!(err.contains("row 2: column 'target' is null"), "{err}");
    }

    #[test]
    fn self_loops_name_the_users_id() {
        let t = table(vec![("source", strs(&["a", "b", "carol"])), ("target", strs(&["b", "c", "carol"]))]);
        let err = load_graph(&t, &EdgeColumns::default(), None).unwrap_err().to_string();
        assert!(err.contains("edges.parquet row 3: node 'carol' is joined to itself"), "{err}");
        let t = table(vec![("source", ints(&[5, 9])), ("target", ints(&[9, 9]))]);
        let err = load_graph(&t, &EdgeColumns::default(), None).unwrap_err().to_string();
        assert!(err.contains("row 2: node '9' is joined to itself"), "{err}");
    }

    #[test]
    fn duplicates_are_merged_counted_and_their_weights_add() {
        let t = table(vec![
            ("source", ints(&[1, 2, 1, 3])),
            ("target", ints(&[2, 1, 2, 1])),
            ("w", Arc::new(Float64Array::from(vec![1.0, 0.5, 2.0, 4.0]))),
        ]);
        let columns = EdgeColumns { weight: Some("w".into()), ..Default::default() };
        let g = load_graph(&t, &columns, None).unwrap();
        assert_eq!(g.report, EdgeReport { edges_given: 4, duplicates_merged: 2, edges: 2, isolated_nodes: 0 });
        assert_eq!(g.graph.edge_weights(0).unwrap(), &[3.5, 4.0]);
        assert_eq!(g.graph.total_weight(), 7.5);
    }

    #[test]
    fn bad_weights_name_the_row() {
        for (w, expected) in [
            (vec![Some(1.0), Some(0.0)], "row 2: weight column 'w' is 0"),
            (vec![Some(f64::NAN), Some(1.0)], "row 1: weight column 'w' is NaN"),
            (vec![Some(1.0), None], "row 2: weight column 'w' is null"),
        ] {
            let t = table(vec![
                ("source", ints(&[1, 2])),
                ("target", ints(&[2, 3])),
                ("w", Arc::new(Float64Array::from(w)) as ArrayRef),
            ]);
            let columns = EdgeColumns { weight: Some("w".into()), ..Default::default() };
            let err = load_graph(&t, &columns, None).unwrap_err().to_string();
            assert!(err.contains(expected), "{err}");
        }
    }

    #[test]
    fn missing_columns_list_the_columns_there_are() {
        let t = table(vec![("from", ints(&[1])), ("to", ints(&[2]))]);
        let err = load_graph(&t, &EdgeColumns::default(), None).unwrap_err().to_string();
        assert!(err.contains("'source'") && err.contains("from, to"), "{err}");
        let same = EdgeColumns { source: "from".into(), target: "from".into(), weight: None };
        let err = load_graph(&t, &same, None).unwrap_err().to_string();
        assert!(err.contains("both 'from'"), "{err}");
    }

    #[test]
    fn a_node_list_orders_the_nodes_and_keeps_the_isolated_ones() {
        let units = table(vec![("unit", strs(&["z", "y", "x", "w"]))]).with_label("outcomes.csv");
        let t = table(vec![("source", strs(&["x", "y"])), ("target", strs(&["y", "z"]))]);
        let list = NodeList { table: &units, column: "unit" };
        let g = load_graph(&t, &EdgeColumns::default(), Some(list)).unwrap();
        assert_eq!(g.ids, NodeIds::from_strings(["z", "y", "x", "w"]).unwrap());
        assert_eq!(g.report.isolated_nodes, 1);
        assert_eq!(g.graph.neighbors(1), &[0, 2]);

        let t = table(vec![("source", strs(&["x", "y"])), ("target", strs(&["y", "q"]))]);
        let err = load_graph(&t, &EdgeColumns::default(), Some(list)).unwrap_err().to_string();
        assert_eq!(
            err,
            "edge list edges.parquet row 2: node id 'q' in column 'target' is not in outcomes.csv column 'unit'"
        );
        let t = table(vec![("source", ints(&[1])), ("target", ints(&[2]))]);
        let err = load_graph(&t, &EdgeColumns::default(), Some(list)).unwrap_err().to_string();
        assert!(err.contains("outcomes.csv column 'unit' holds strings"), "{err}");
    }

    #[test]
    fn a_node_list_refuses_nulls_and_repeated_units() {
        let t = table(vec![("source", ints(&[1])), ("target", ints(&[2]))]);
        let units = table(vec![("unit", ints(&[1, 2, 3, 2]))]).with_label("outcomes.csv");
        let err =
            load_graph(&t, &EdgeColumns::default(), Some(NodeList { table: &units, column: "unit" })).unwrap_err();
        assert!(err.to_string().contains("outcomes.csv column 'unit': rows 2 and 4 both hold unit id '2'"), "{err}");
        let units = table(vec![("unit", Arc::new(Int64Array::from(vec![Some(1), None])) as ArrayRef)]);
        let err = read_node_list(NodeList { table: &units, column: "unit" }).unwrap_err().to_string();
        assert!(err.contains("row 2: column 'unit' is null"), "{err}");
    }

    #[test]
    fn rows_of_an_outcome_table_map_to_nodes() {
        let t = table(vec![("source", ints(&[10, 20])), ("target", ints(&[20, 30]))]);
        let g = load_graph(&t, &EdgeColumns::default(), None).unwrap();
        let outcome = table(vec![("unit", ints(&[30, 10]))]).with_label("y.parquet");
        let rows = rows_to_nodes(&g.ids, &outcome, "unit").unwrap();
        assert_eq!(rows.node_of_row, [2, 0]);
        assert_eq!(rows.row_of_node, [Some(1), None, Some(0)]);
        assert_eq!(rows.nodes_without_row(), 1);

        let outcome = table(vec![("unit", ints(&[30, 40]))]).with_label("y.parquet");
        let err = rows_to_nodes(&g.ids, &outcome, "unit").unwrap_err().to_string();
        assert!(err.contains("y.parquet row 2: unit id '40' in column 'unit' is not a node of the graph"), "{err}");
        let outcome = table(vec![("unit", ints(&[30, 10, 30]))]).with_label("y.parquet");
        let err = rows_to_nodes(&g.ids, &outcome, "unit").unwrap_err().to_string();
        assert!(err.contains("rows 1 and 3 both hold unit id '30'"), "{err}");
        let outcome = table(vec![("unit", strs(&["30"]))]);
        let err = rows_to_nodes(&g.ids, &outcome, "unit").unwrap_err().to_string();
        assert!(err.contains("holds strings but the node ids of the graph are integers"), "{err}");
    }

    #[test]
    fn node_ids_refuse_duplicates() {
        let err = NodeIds::from_ints(vec![4, 5, 4]).unwrap_err().to_string();
        assert!(err.contains("'4' is given twice (positions 1 and 3"), "{err}");
        assert!(NodeIds::from_strings(["a", "a"]).is_err());
        assert!(NodeIds::from_ints(Vec::new()).unwrap().is_empty());
    }

    /// Batches cut at uneven places give the same graph (numbering crosses batch boundaries).
    #[test]
    fn the_numbering_does_not_depend_on_batches_or_threads() {
        let n = 200_000usize;
        let source: Vec<i64> = (0..n as i64).map(|i| (i * 7919) % 50_021).collect();
        let target: Vec<i64> = (0..n as i64).map(|i| (i * 104_729 + 13) % 50_023 + 1).collect();
        let keep: Vec<usize> = (0..n).filter(|&i| source[i] != target[i]).collect();
        let source: Vec<i64> = keep.iter().map(|&i| source[i]).collect();
        let target: Vec<i64> = keep.iter().map(|&i| target[i]).collect();
        let whole = table(vec![("source", ints(&source)), ("target", ints(&target))]);
        let one = load_graph(&whole, &EdgeColumns::default(), None).unwrap();
        let batch = RecordBatch::try_from_iter([("source", ints(&source)), ("target", ints(&target))]).unwrap();
        let pieces = vec![batch.slice(0, 1000), batch.slice(1000, 90_000), batch.slice(91_000, source.len() - 91_000)];
        let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
        let split = pool.install(|| load_graph(&Source::from_batches(pieces).unwrap(), &EdgeColumns::default(), None));
        let split = split.unwrap();
        assert_eq!(one.ids, split.ids);
        assert_eq!(one.graph, split.graph);
        assert_eq!(one.report, split.report);
    }

    #[test]
    fn csv_and_parquet_files_give_the_same_graph() {
        let dir = cateye_testkit::temp_dir("network-load");
        let csv = dir.join("edges.csv");
        std::fs::write(&csv, "source,target,w\n1,2,0.5\n2,3,1\n3,1,2\n1,2,1.5\n").unwrap();
        let columns = EdgeColumns { weight: Some("w".into()), ..Default::default() };
        let from_csv = load_graph(&Source::open(&csv).unwrap(), &columns, None).unwrap();
        assert_eq!(from_csv.ids.as_ints().unwrap(), &[1, 2, 3]);
        assert_eq!(from_csv.report.duplicates_merged, 1);
        assert_eq!(from_csv.graph.edge_weights(0).unwrap(), &[2.0, 2.0]);

        let batch = RecordBatch::try_from_iter([
            ("source", strs(&["1", "2", "3", "1"])),
            ("target", strs(&["2", "3", "1", "2"])),
            ("w", Arc::new(Float64Array::from(vec![0.5, 1.0, 2.0, 1.5])) as ArrayRef),
        ])
        .unwrap();
        let parquet = dir.join("edges.parquet");
        cateye_testkit::write_parquet(&parquet, &batch);
        let from_parquet = load_graph(&Source::open(&parquet).unwrap(), &columns, None).unwrap();
        assert_eq!(from_parquet.ids.kind(), IdKind::Str);
        assert_eq!(from_parquet.graph, from_csv.graph);
        assert_eq!(from_parquet.report, from_csv.report);

        let units = dir.join("units.csv");
        std::fs::write(&units, "unit,y\nu9,1\n3,0\n2,1\n1,0\n").unwrap();
        let units = Source::open(&units).unwrap();
        let g =
            load_graph(&Source::open(&parquet).unwrap(), &columns, Some(NodeList { table: &units, column: "unit" }))
                .unwrap();
        assert_eq!(g.ids, NodeIds::from_strings(["u9", "3", "2", "1"]).unwrap());
        assert_eq!(g.report.isolated_nodes, 1);
        let rows = rows_to_nodes(&g.ids, &units, "unit").unwrap();
        assert_eq!(rows.node_of_row, [0, 1, 2, 3]);
    }
}
