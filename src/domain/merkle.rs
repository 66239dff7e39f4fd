//! The Merkle tree over the audit log, as RFC 9162 §2.1 (and RFC 6962 §2.1
//! before it) defines it: leaf `i` is the event at seq `i + 1`, a leaf hash is
//! `SHA-256(0x00 ‖ canonical bytes)`, an interior node `SHA-256(0x01 ‖ left ‖
//! right)`, and the tree over `n` leaves splits at the largest power of two
//! below `n`.
//!
//! Pure math, no IO: every function that needs stored hashes takes a lookup
//! of the hash of a *perfect subtree* — `(level, index)` names the subtree of
//! `2^level` leaves starting at leaf `index << level` (level 0 holds the leaf
//! hashes). The server keeps exactly those hashes in a table, so a root, an
//! inclusion proof or a consistency proof costs O(log n) lookups and is never
//! rebuilt from the leaves.
//!
//! Written here rather than taken from a crate: the Rust crates for RFC 6962
//! trees (`ct-merkle`, `rs_merkle`) keep the whole tree in memory, which does
//! not fit a tree held in SQLite and appended to one event at a time. The
//! code is checked against the published RFC 6962 reference hashes and the
//! transparency-dev proof vectors in the tests below, and against a
//! recursive verifier written from the RFC's definitions.

use sha2::{Digest, Sha256};

/// A SHA-256 node or leaf hash.
pub type Hash = [u8; 32];

/// The root of the empty tree: SHA-256 of the empty string.
pub const EMPTY_ROOT: Hash = [
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24, 0x27, 0xae, 0x41,
    0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
];

/// A hash from its 64 hex digits; `None` for anything else.
pub fn hash_from_hex(text: &str) -> Option<Hash> {
    let mut hash = [0u8; 32];
    hex::decode_to_slice(text, &mut hash).ok()?;
    Some(hash)
}

/// `SHA-256(0x00 ‖ data)`.
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([0u8]);
    hasher.update(data);
    hasher.finalize().into()
}

/// `SHA-256(0x01 ‖ left ‖ right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([1u8]);
    hasher.update(left);
    hasher.update(right);
    hasher.finalize().into()
}

/// Why a proof was not made or did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError<E> {
    #[error("leaf {leaf} is not in a tree of {size} leaves")]
    LeafOutOfRange { leaf: u64, size: u64 },
    #[error("a tree of {from} leaves cannot grow into one of {to}")]
    BadRange { from: u64, to: u64 },
    #[error("the proof has the wrong number of hashes")]
    WrongLength,
    #[error("the proof does not lead to the expected root")]
    Mismatch,
    #[error("a stored node hash could not be read: {0}")]
    Lookup(E),
}

/// The largest power of two strictly below `n` (`n >= 2`).
fn split(n: u64) -> u64 {
    1 << (63 - (n - 1).leading_zeros())
}

/// `MTH(D[start..end])`, from the stored perfect subtrees. Within the RFC's
/// recursion every left part is a perfect subtree, so this walks down the
/// right edge only: O(log n) lookups.
fn range_hash<E>(
    start: u64,
    end: u64,
    lookup: &mut impl FnMut(u32, u64) -> Result<Hash, E>,
) -> Result<Hash, ProofError<E>> {
    let n = end - start;
    if n == 0 {
        return Ok(EMPTY_ROOT);
    }
    if n.is_power_of_two() && start.is_multiple_of(n) {
        let level = n.trailing_zeros();
        return lookup(level, start >> level).map_err(ProofError::Lookup);
    }
    let k = split(n);
    let left = range_hash(start, start + k, lookup)?;
    let right = range_hash(start + k, end, lookup)?;
    Ok(node_hash(&left, &right))
}

/// The root of the tree of the first `size` leaves.
pub fn root<E>(size: u64, mut lookup: impl FnMut(u32, u64) -> Result<Hash, E>) -> Result<Hash, ProofError<E>> {
    range_hash(0, size, &mut lookup)
}

/// The audit path of leaf `leaf` in the tree of `size` leaves (RFC 9162
/// §2.1.3.1), nearest the leaf first.
pub fn inclusion_proof<E>(
    leaf: u64,
    size: u64,
    mut lookup: impl FnMut(u32, u64) -> Result<Hash, E>,
) -> Result<Vec<Hash>, ProofError<E>> {
    if leaf >= size {
        return Err(ProofError::LeafOutOfRange { leaf, size });
    }
    let mut path = Vec::with_capacity(64);
    // Walk down from the root, collecting the sibling of each step; the
    // path is written nearest the root first, then reversed.
    let (mut start, mut end) = (0u64, size);
    while end - start > 1 {
        let k = split(end - start);
        if leaf < start + k {
            path.push(range_hash(start + k, end, &mut lookup)?);
            end = start + k;
        } else {
            path.push(range_hash(start, start + k, &mut lookup)?);
            start += k;
        }
    }
    path.reverse();
    Ok(path)
}

/// The consistency proof from the tree of `from` leaves to the tree of `to`
/// leaves (RFC 9162 §2.1.4.1). Empty when `from` is 0 or equals `to`.
pub fn consistency_proof<E>(
    from: u64,
    to: u64,
    mut lookup: impl FnMut(u32, u64) -> Result<Hash, E>,
) -> Result<Vec<Hash>, ProofError<E>> {
    if from > to {
        return Err(ProofError::BadRange { from, to });
    }
    let mut proof = Vec::with_capacity(64);
    if from == 0 || from == to {
        return Ok(proof);
    }
    // SUBPROOF(m, D[start..end], whole), unrolled: each step appends the
    // hash of the part it leaves, so the list is built root side first and
    // reversed at the end.
    let (mut start, mut end, mut m, mut whole) = (0u64, to, from, true);
    loop {
        let n = end - start;
        if m == n {
            if !whole {
                proof.push(range_hash(start, end, &mut lookup)?);
            }
            break;
        }
        let k = split(n);
        if m <= k {
            proof.push(range_hash(start + k, end, &mut lookup)?);
            end = start + k;
        } else {
            proof.push(range_hash(start, start + k, &mut lookup)?);
            start += k;
            m -= k;
            whole = false;
        }
    }
    proof.reverse();
    Ok(proof)
}

/// Checks an audit path (RFC 9162 §2.1.3.2).
pub fn verify_inclusion(
    leaf: u64,
    size: u64,
    leaf_hash: &Hash,
    path: &[Hash],
    root: &Hash,
) -> Result<(), ProofError<std::convert::Infallible>> {
    if leaf >= size {
        return Err(ProofError::LeafOutOfRange { leaf, size });
    }
    let (mut fnode, mut snode) = (leaf, size - 1);
    let mut hash = *leaf_hash;
    for sibling in path {
        if snode == 0 {
            return Err(ProofError::WrongLength);
        }
        if fnode & 1 == 1 || fnode == snode {
            hash = node_hash(sibling, &hash);
            if fnode & 1 == 0 {
                while fnode & 1 == 0 && fnode != 0 {
                    fnode >>= 1;
                    snode >>= 1;
                }
            }
        } else {
            hash = node_hash(&hash, sibling);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err(ProofError::WrongLength);
    }
    if &hash != root {
        return Err(ProofError::Mismatch);
    }
    Ok(())
}

/// Checks a consistency proof between two tree heads (RFC 9162 §2.1.4.2).
pub fn verify_consistency(
    from: u64,
    to: u64,
    from_root: &Hash,
    to_root: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError<std::convert::Infallible>> {
    if from > to {
        return Err(ProofError::BadRange { from, to });
    }
    if from == to {
        if !proof.is_empty() {
            return Err(ProofError::WrongLength);
        }
        return if from_root == to_root { Ok(()) } else { Err(ProofError::Mismatch) };
    }
    if from == 0 {
        // Every tree extends the empty one.
        return if proof.is_empty() { Ok(()) } else { Err(ProofError::WrongLength) };
    }
    if proof.is_empty() {
        return Err(ProofError::WrongLength);
    }
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if from.is_power_of_two() {
        path.push(*from_root);
    }
    path.extend_from_slice(proof);
    let (mut fnode, mut snode) = (from - 1, to - 1);
    while fnode & 1 == 1 {
        fnode >>= 1;
        snode >>= 1;
    }
    let (mut first, mut second) = (path[0], path[0]);
    for c in &path[1..] {
        if snode == 0 {
            return Err(ProofError::WrongLength);
        }
        if fnode & 1 == 1 || fnode == snode {
            first = node_hash(c, &first);
            second = node_hash(c, &second);
            if fnode & 1 == 0 {
                while fnode & 1 == 0 && fnode != 0 {
                    fnode >>= 1;
                    snode >>= 1;
                }
            }
        } else {
            second = node_hash(&second, c);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err(ProofError::WrongLength);
    }
    if &first != from_root || &second != to_root {
        return Err(ProofError::Mismatch);
    }
    Ok(())
}

/// The perfect-subtree nodes that appending leaf `index` completes, as
/// `(level, index)` with the hashes to combine: after storing the leaf at
/// `(0, index)`, for each returned `(level, node)` the caller stores
/// `node_hash((level - 1, 2 node), (level - 1, 2 node + 1))` at
/// `(level, node)`, lowest level first.
pub fn completed_by(index: u64) -> impl Iterator<Item = (u32, u64)> {
    let levels = (index + 1).trailing_zeros();
    (1..=levels).map(move |level| (level, index >> level))
}

/// The root of a tree grown one leaf at a time, in O(log n) memory: the
/// roots of its complete subtrees, largest (leftmost) first. What checks a
/// log's signed roots against its rows in one walk.
#[derive(Debug, Clone, Default)]
pub struct RootFold {
    /// `(level, root)` of each complete subtree; levels strictly decrease.
    stack: Vec<(u32, Hash)>,
    size: u64,
}

impl RootFold {
    pub fn push(&mut self, leaf: Hash) {
        let mut node = (0, leaf);
        while let Some(&(level, left)) = self.stack.last() {
            if level != node.0 {
                break;
            }
            self.stack.pop();
            node = (level + 1, node_hash(&left, &node.1));
        }
        self.stack.push(node);
        self.size += 1;
    }

    /// Leaves pushed so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The root of the leaves pushed so far (RFC 9162 §2.1.1): the subtrees
    /// joined from the right.
    pub fn root(&self) -> Hash {
        let mut subtrees = self.stack.iter().rev();
        let Some(&(_, mut root)) = subtrees.next() else { return EMPTY_ROOT };
        for (_, left) in subtrees {
            root = node_hash(left, &root);
        }
        root
    }
}

/// The leaf hash of an audit event: over the one canonical form the hash
/// chain covers too (`AuditEvent::canonical`), so whatever that form holds,
/// the tree holds.
pub fn event_leaf(event: &super::AuditEvent) -> Hash {
    leaf_hash(&event.canonical())
}

#[cfg(test)]
#[path = "merkle_tests.rs"]
mod tests;
