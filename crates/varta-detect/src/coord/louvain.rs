//! Louvain community detection (Blondel et al. 2008) on an undirected weighted graph.
//!
//! petgraph has no community detection, and the crates that do are alpha ports or bring a graph
//! library of their own; the method is short. Nodes are visited in index order and ties keep the
//! lower community index, so the same graph always gives the same communities (finding ids depend
//! on it). `resolution` above 1 favours smaller communities: coordinated groups that share a member
//! stay apart instead of merging by modularity's resolution limit.

/// Community of each node, numbered 0.. in order of each community's lowest node.
pub fn louvain(n: usize, edges: &[(u32, u32, f64)], resolution: f64) -> Vec<u32> {
    let mut membership: Vec<u32> = (0..n as u32).collect();
    let mut graph = Graph::new(n, edges.iter().map(|&(a, b, w)| (a, b, w)));
    loop {
        let (moved, local) = graph.local_moving(resolution);
        // Map each original node through this level's communities.
        let (renumbered, count) = renumber(&local);
        for m in membership.iter_mut() {
            *m = renumbered[*m as usize];
        }
        if !moved || count == graph.n {
            break;
        }
        graph = graph.aggregate(&renumbered, count);
    }
    let (renumbered, _) = renumber(&membership);
    renumbered
}

/// Renumbers community labels 0.. in order of first appearance.
fn renumber(labels: &[u32]) -> (Vec<u32>, usize) {
    let mut map = vec![u32::MAX; labels.len()];
    let mut next = 0u32;
    let out = labels
        .iter()
        .map(|&l| {
            if map[l as usize] == u32::MAX {
                map[l as usize] = next;
                next += 1;
            }
            map[l as usize]
        })
        .collect();
    (out, next as usize)
}

/// Adjacency lists with self-loops kept apart.
struct Graph {
    n: usize,
    adj: Vec<Vec<(u32, f64)>>,
    self_loop: Vec<f64>,
    strength: Vec<f64>,
    total: f64,
}

impl Graph {
    fn new(n: usize, edges: impl Iterator<Item = (u32, u32, f64)>) -> Graph {
        let mut adj = vec![Vec::new(); n];
        let mut self_loop = vec![0.0; n];
        for (a, b, w) in edges {
            if a == b {
                self_loop[a as usize] += w;
            } else {
                adj[a as usize].push((b, w));
                adj[b as usize].push((a, w));
            }
        }
        let strength: Vec<f64> = (0..n)
            .map(|i| adj[i].iter().map(|&(_, w)| w).sum::<f64>() + 2.0 * self_loop[i])
            .collect();
        let total = strength.iter().sum();
        Graph {
            n,
            adj,
            self_loop,
            strength,
            total,
        }
    }

    /// Moves nodes between communities while modularity grows; returns whether any moved and
    /// each node's community.
    fn local_moving(&self, resolution: f64) -> (bool, Vec<u32>) {
        let n = self.n;
        let mut comm: Vec<u32> = (0..n as u32).collect();
        let mut tot: Vec<f64> = self.strength.clone();
        if self.total <= 0.0 {
            return (false, comm);
        }
        let mut to_comm = vec![0.0f64; n];
        let mut touched: Vec<u32> = Vec::new();
        let mut moved_any = false;
        for _pass in 0..100 {
            let mut moved = false;
            for i in 0..n {
                let ki = self.strength[i];
                let own = comm[i];
                for &(j, w) in &self.adj[i] {
                    let c = comm[j as usize];
                    if to_comm[c as usize] == 0.0 {
                        touched.push(c);
                    }
                    to_comm[c as usize] += w;
                }
                tot[own as usize] -= ki;
                let gain =
                    |c: u32, w_ic: f64| w_ic - resolution * ki * tot[c as usize] / self.total;
                let mut best = own;
                let mut best_gain = gain(own, to_comm[own as usize]);
                touched.sort_unstable();
                for &c in &touched {
                    let g = gain(c, to_comm[c as usize]);
                    if g > best_gain + 1e-12 {
                        best = c;
                        best_gain = g;
                    }
                }
                tot[best as usize] += ki;
                if best != own {
                    comm[i] = best;
                    moved = true;
                }
                for &c in &touched {
                    to_comm[c as usize] = 0.0;
                }
                touched.clear();
            }
            if !moved {
                break;
            }
            moved_any = true;
        }
        (moved_any, comm)
    }

    /// The graph of communities: one node each, edge weights summed, internal weight as self-loops.
    fn aggregate(&self, comm: &[u32], count: usize) -> Graph {
        let mut sums: std::collections::BTreeMap<(u32, u32), f64> = Default::default();
        for i in 0..self.n {
            let ci = comm[i];
            if self.self_loop[i] > 0.0 {
                *sums.entry((ci, ci)).or_default() += self.self_loop[i];
            }
            for &(j, w) in &self.adj[i] {
                let cj = comm[j as usize];
                // Each undirected edge is seen from both ends: count it once.
                if (i as u32) < j {
                    let key = if ci <= cj { (ci, cj) } else { (cj, ci) };
                    *sums.entry(key).or_default() += w;
                }
            }
        }
        Graph::new(count, sums.into_iter().map(|((a, b), w)| (a, b, w)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clique(nodes: &[u32], w: f64, out: &mut Vec<(u32, u32, f64)>) {
        for (i, &a) in nodes.iter().enumerate() {
            for &b in &nodes[i + 1..] {
                out.push((a, b, w));
            }
        }
    }

    #[test]
    fn separates_cliques_joined_by_a_bridge() {
        let mut e = Vec::new();
        clique(&[0, 1, 2, 3, 4], 3.0, &mut e);
        clique(&[5, 6, 7, 8, 9], 3.0, &mut e);
        e.push((4, 5, 1.0));
        let c = louvain(10, &e, 1.0);
        assert!(c[..5].iter().all(|&x| x == c[0]));
        assert!(c[5..].iter().all(|&x| x == c[5]));
        assert_ne!(c[0], c[5]);
        assert_eq!(c, louvain(10, &e, 1.0), "deterministic");
    }

    #[test]
    fn isolated_nodes_stay_alone() {
        let c = louvain(3, &[], 1.0);
        assert_eq!(c, vec![0, 1, 2]);
    }
}
