//! The tree math against the RFC 6962 reference hashes (the eight standard
//! leaves), the transparency-dev proof vectors, and a recursive verifier
//! written here from the RFC's definitions of MTH, PATH and PROOF.

use std::collections::HashMap;
use std::convert::Infallible;

use super::*;

fn h(hex_text: &str) -> Hash {
    let mut out = [0u8; 32];
    hex::decode_to_slice(hex_text, &mut out).expect("test hex");
    out
}

/// The eight leaf inputs the RFC 6962 reference tests use, as hex.
const LEAVES: [&str; 8] =
    ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"];

/// Reference roots of the trees over the first n of [`LEAVES`], n = 1..=8.
const ROOTS: [&str; 8] = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

/// Every perfect-subtree hash, as the server stores them, built by appending.
fn store_of(leaves: &[Hash]) -> HashMap<(u32, u64), Hash> {
    let mut store = HashMap::new();
    for (index, leaf) in leaves.iter().enumerate() {
        let index = index as u64;
        store.insert((0, index), *leaf);
        for (level, node) in completed_by(index) {
            let left = store[&(level - 1, 2 * node)];
            let right = store[&(level - 1, 2 * node + 1)];
            store.insert((level, node), node_hash(&left, &right));
        }
    }
    store
}

fn lookup(store: &HashMap<(u32, u64), Hash>) -> impl FnMut(u32, u64) -> Result<Hash, Infallible> + '_ {
    |level, index| Ok(*store.get(&(level, index)).expect("a stored node"))
}

fn reference_leaves() -> Vec<Hash> {
    LEAVES.iter().map(|leaf| leaf_hash(&hex::decode(leaf).expect("test hex"))).collect()
}

fn synthetic_leaves(n: u64) -> Vec<Hash> {
    (0..n).map(|i| leaf_hash(format!("event {i}").as_bytes())).collect()
}

// The independent side: RFC 9162 §2.1.1-2.1.4 as written, by recursion.

fn split_rfc(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

fn mth(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => EMPTY_ROOT,
        1 => leaves[0],
        n => {
            let k = split_rfc(n);
            node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
        }
    }
}

/// The root an audit path leads to, mirroring PATH(m, D[n]); `None` when
/// the path has the wrong shape.
fn root_from_path(m: usize, n: usize, leaf: Hash, path: &[Hash]) -> Option<Hash> {
    if n == 1 {
        return path.is_empty().then_some(leaf);
    }
    let (last, rest) = path.split_last()?;
    let k = split_rfc(n);
    if m < k {
        Some(node_hash(&root_from_path(m, k, leaf, rest)?, last))
    } else {
        Some(node_hash(last, &root_from_path(m - k, n - k, leaf, rest)?))
    }
}

/// The (old root, new root) a consistency proof leads to, mirroring
/// SUBPROOF(m, D[n], b); `old` is the old root, known to the verifier, used
/// where the proof leaves it out (b true and m = n).
fn roots_from_subproof(m: usize, n: usize, whole: bool, old: Hash, proof: &[Hash]) -> Option<(Hash, Hash)> {
    if m == n {
        if whole {
            return proof.is_empty().then_some((old, old));
        }
        return (proof.len() == 1).then(|| (proof[0], proof[0]));
    }
    let (last, rest) = proof.split_last()?;
    let k = split_rfc(n);
    if m <= k {
        let (first, second) = roots_from_subproof(m, k, whole, old, rest)?;
        // The old tree lies wholly in the left part.
        Some((first, node_hash(&second, last)))
    } else {
        let (first, second) = roots_from_subproof(m - k, n - k, false, old, rest)?;
        Some((node_hash(last, &first), node_hash(last, &second)))
    }
}

#[test]
fn roots_match_the_rfc_6962_reference_hashes() {
    let leaves = reference_leaves();
    let store = store_of(&leaves);
    assert_eq!(root(0, lookup(&store)).unwrap(), EMPTY_ROOT);
    for (n, expected) in ROOTS.iter().enumerate() {
        let n = n + 1;
        assert_eq!(root(n as u64, lookup(&store)).unwrap(), h(expected), "size {n}");
        assert_eq!(mth(&leaves[..n]), h(expected), "reference recursion, size {n}");
    }
    assert_eq!(EMPTY_ROOT, <[u8; 32]>::from(Sha256::digest(b"")));
}

#[test]
fn the_published_proof_vectors_verify() {
    let leaves = reference_leaves();
    let store = store_of(&leaves);
    // Inclusion of leaf 2 in the tree of 3: the sibling subtree of leaves 0-1.
    let path = inclusion_proof(2, 3, lookup(&store)).unwrap();
    assert_eq!(path, vec![h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125")]);
    verify_inclusion(2, 3, &leaves[2], &path, &h(ROOTS[2])).unwrap();
    // Consistency 2 → 5: the node over leaves 2-3, then leaf 4.
    let proof = consistency_proof(2, 5, lookup(&store)).unwrap();
    assert_eq!(
        proof,
        vec![
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
        ]
    );
    verify_consistency(2, 5, &h(ROOTS[1]), &h(ROOTS[4]), &proof).unwrap();
    // Consistency 6 → 7: the node over leaves 4-5, leaf 6, the node over 0-3.
    let proof = consistency_proof(6, 7, lookup(&store)).unwrap();
    assert_eq!(
        proof,
        vec![
            h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
            h("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ]
    );
    verify_consistency(6, 7, &h(ROOTS[5]), &h(ROOTS[6]), &proof).unwrap();
}

#[test]
fn the_published_bad_proofs_are_refused() {
    let leaves = reference_leaves();
    let good = [h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125")];
    let root3 = h(ROOTS[2]);
    // Wrong leaf, wrong index either side, a tree size doubled or halved,
    // garbage before or after the path, an empty root, a flipped bit.
    assert_eq!(verify_inclusion(2, 3, &leaves[1], &good, &root3), Err(ProofError::Mismatch));
    assert!(verify_inclusion(1, 3, &leaves[2], &good, &root3).is_err());
    assert!(verify_inclusion(3, 3, &leaves[2], &good, &root3).is_err());
    assert!(verify_inclusion(2, 6, &leaves[2], &good, &root3).is_err());
    assert!(verify_inclusion(2, 1, &leaves[2], &good, &root3).is_err());
    assert!(verify_inclusion(2, 3, &leaves[2], &[leaves[0], good[0]], &root3).is_err());
    assert!(verify_inclusion(2, 3, &leaves[2], &[good[0], leaves[0]], &root3).is_err());
    assert!(verify_inclusion(2, 3, &leaves[2], &good, &EMPTY_ROOT).is_err());
    assert!(verify_inclusion(2, 3, &leaves[2], &[], &root3).is_err());
    let mut flipped = good;
    flipped[0][0] ^= 8;
    assert!(verify_inclusion(2, 3, &leaves[2], &flipped, &root3).is_err());

    let proof = [
        h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
        h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
    ];
    let (r2, r5) = (h(ROOTS[1]), h(ROOTS[4]));
    assert!(verify_consistency(2, 5, &r5, &r2, &proof).is_err(), "swapped roots");
    assert!(verify_consistency(2, 5, &r2, &r5, &[]).is_err(), "empty proof");
    assert!(verify_consistency(2, 5, &r2, &r5, &proof[..1]).is_err(), "truncated");
    assert!(verify_consistency(2, 5, &r2, &r5, &[proof[0], proof[1], r2]).is_err(), "trailing");
    assert!(verify_consistency(2, 5, &r2, &r5, &[r2, proof[0], proof[1]]).is_err(), "preceding");
    assert!(verify_consistency(1, 5, &r2, &r5, &proof).is_err(), "size1 - 1");
    assert!(verify_consistency(3, 5, &r2, &r5, &proof).is_err(), "size1 + 1");
    assert!(verify_consistency(2, 10, &r2, &r5, &proof).is_err(), "size2 * 2");
    assert!(verify_consistency(5, 2, &r2, &r5, &proof).is_err(), "shrinking");
    for i in 0..2 {
        let mut bad = proof;
        bad[i][31] ^= 1;
        assert!(verify_consistency(2, 5, &r2, &r5, &bad).is_err(), "modified proof[{i}]");
    }
    assert!(verify_consistency(3, 3, &r2, &r5, &[]).is_err(), "same size, different roots");
}

/// Sizes 1, 2, 3, powers of two and the odd sizes around them.
fn sizes() -> Vec<u64> {
    let mut sizes: Vec<u64> = (1..=20).collect();
    sizes.extend([31, 32, 33, 63, 64, 65, 100, 127, 128, 129]);
    sizes
}

#[test]
fn every_inclusion_proof_verifies_both_ways_and_no_other_leaf_fits() {
    let leaves = synthetic_leaves(129);
    let store = store_of(&leaves);
    for size in sizes() {
        let n = size as usize;
        let expected_root = mth(&leaves[..n]);
        assert_eq!(root(size, lookup(&store)).unwrap(), expected_root, "size {size}");
        for m in 0..n {
            let path = inclusion_proof(m as u64, size, lookup(&store)).unwrap();
            assert_eq!(root_from_path(m, n, leaves[m], &path), Some(expected_root), "leaf {m} of {size}");
            verify_inclusion(m as u64, size, &leaves[m], &path, &expected_root).unwrap();
            let other = leaves[(m + 1) % leaves.len()];
            assert!(verify_inclusion(m as u64, size, &other, &path, &expected_root).is_err());
            if let Some((first, rest)) = path.split_first() {
                let mut bad = vec![*first];
                bad[0][0] ^= 1;
                bad.extend_from_slice(rest);
                assert!(verify_inclusion(m as u64, size, &leaves[m], &bad, &expected_root).is_err());
                assert!(verify_inclusion(m as u64, size, &leaves[m], rest, &expected_root).is_err());
            }
        }
        assert_eq!(inclusion_proof(size, size, lookup(&store)), Err(ProofError::LeafOutOfRange { leaf: size, size }));
    }
}

#[test]
fn every_consistency_proof_verifies_both_ways_and_a_rewritten_past_does_not() {
    let leaves = synthetic_leaves(129);
    let store = store_of(&leaves);
    let mut forked = leaves.clone();
    forked[0] = leaf_hash(b"a rewritten first event");
    let forked_store = store_of(&forked);
    for to in sizes() {
        let to_root = mth(&leaves[..to as usize]);
        for from in 1..=to {
            let from_root = mth(&leaves[..from as usize]);
            let proof = consistency_proof(from, to, lookup(&store)).unwrap();
            if from < to {
                let independent = roots_from_subproof(from as usize, to as usize, true, from_root, &proof);
                assert_eq!(independent, Some((from_root, to_root)), "{from} -> {to}");
            } else {
                assert!(proof.is_empty());
            }
            verify_consistency(from, to, &from_root, &to_root, &proof).unwrap();
            // A server that rewrote event 1 after the old head cannot prove
            // its new tree extends the old one.
            let forked_proof = consistency_proof(from, to, lookup(&forked_store)).unwrap();
            let forked_root = mth(&forked[..to as usize]);
            assert!(verify_consistency(from, to, &from_root, &forked_root, &forked_proof).is_err(), "{from} -> {to}");
        }
    }
    assert_eq!(consistency_proof(5, 4, lookup(&store)), Err(ProofError::BadRange { from: 5, to: 4 }));
    assert!(consistency_proof(0, 7, lookup(&store)).unwrap().is_empty());
    verify_consistency(0, 7, &EMPTY_ROOT, &mth(&leaves[..7]), &[]).unwrap();
}

#[test]
fn appending_completes_the_perfect_subtrees_ending_at_the_leaf() {
    assert_eq!(completed_by(0).collect::<Vec<_>>(), vec![]);
    assert_eq!(completed_by(1).collect::<Vec<_>>(), vec![(1, 0)]);
    assert_eq!(completed_by(2).collect::<Vec<_>>(), vec![]);
    assert_eq!(completed_by(3).collect::<Vec<_>>(), vec![(1, 1), (2, 0)]);
    assert_eq!(completed_by(7).collect::<Vec<_>>(), vec![(1, 3), (2, 1), (3, 0)]);
}

#[test]
fn proofs_at_a_million_leaves_take_about_forty_lookups() {
    // Nodes made up from (level, index) alone: the shape, not the hashes.
    let mut lookups = 0;
    let fake = |level: u32, index: u64| -> Result<Hash, Infallible> {
        lookups += 1;
        let mut hash = [0u8; 32];
        hash[..4].copy_from_slice(&level.to_le_bytes());
        hash[4..12].copy_from_slice(&index.to_le_bytes());
        Ok(hash)
    };
    let path = inclusion_proof(123_456, 1_000_000, fake).unwrap();
    assert_eq!(path.len(), 20);
    assert!(lookups <= 40, "{lookups} lookups");
}

#[test]
fn a_root_fold_gives_the_root_of_every_prefix() {
    let leaves = synthetic_leaves(70);
    let mut fold = RootFold::default();
    assert_eq!(fold.root(), EMPTY_ROOT);
    for (index, leaf) in leaves.iter().enumerate() {
        fold.push(*leaf);
        assert_eq!(fold.size(), index as u64 + 1);
        assert_eq!(fold.root(), mth(&leaves[..=index]), "size {}", index + 1);
    }
    let reference = reference_leaves();
    let mut fold = RootFold::default();
    reference.iter().for_each(|leaf| fold.push(*leaf));
    assert_eq!(fold.root(), mth(&reference));
}
