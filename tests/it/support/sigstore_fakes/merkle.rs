//! RFC 6962 Merkle trees, as Rekor (Trillian) builds them: leaf hash
//! `SHA256(0x00 ‖ leaf)`, node hash `SHA256(0x01 ‖ left ‖ right)`, the tree
//! hash `MTH` and the audit path `PATH(m, D[n])` (RFC 6962 §2.1), hashes
//! ordered from the leaf up.
//!
//! [`verify_inclusion`] is written separately, after RFC 9162 §2.1.3.2 (an
//! iterative algorithm, unlike the recursive construction), so that the
//! self-tests can check the two against each other.

use sha2::{Digest as _, Sha256};

pub type Hash = [u8; 32];

pub fn leaf_hash(leaf: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(leaf);
    h.finalize().into()
}

pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The largest power of two smaller than `n` (`n` > 1).
fn split(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

/// `MTH(D[n])` over leaf hashes. The empty tree hashes to `SHA256("")`.
pub fn root(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => Sha256::digest(b"").into(),
        1 => leaves[0],
        n => {
            let k = split(n);
            node_hash(&root(&leaves[..k]), &root(&leaves[k..]))
        }
    }
}

/// `PATH(m, D[n])`: the audit path for leaf `m` in the tree of `leaves`,
/// from the bottom up. Panics if `m` is out of range.
pub fn inclusion_proof(m: usize, leaves: &[Hash]) -> Vec<Hash> {
    assert!(
        m < leaves.len(),
        "leaf {m} is not in a tree of {}",
        leaves.len()
    );
    let n = leaves.len();
    if n == 1 {
        return Vec::new();
    }
    let k = split(n);
    if m < k {
        let mut p = inclusion_proof(m, &leaves[..k]);
        p.push(root(&leaves[k..]));
        p
    } else {
        let mut p = inclusion_proof(m - k, &leaves[k..]);
        p.push(root(&leaves[..k]));
        p
    }
}

/// RFC 9162 §2.1.3.2: does `proof` show that `leaf` is at `index` in the
/// tree of `size` leaves whose root is `root`?
pub fn verify_inclusion(index: u64, size: u64, leaf: &Hash, proof: &[Hash], root: &Hash) -> bool {
    if index >= size {
        return false;
    }
    let (mut fnode, mut snode) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if snode == 0 {
            return false;
        }
        if fnode & 1 == 1 || fnode == snode {
            r = node_hash(p, &r);
            if fnode & 1 == 0 {
                while fnode & 1 == 0 && fnode != 0 {
                    fnode >>= 1;
                    snode >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    snode == 0 && r == *root
}
