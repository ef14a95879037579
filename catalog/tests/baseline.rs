//! The store's own hop-by-hop walk (the benchmark baseline) must answer what the
//! in-memory index answers, or the comparison means nothing.

use catalog::Catalog;
use domain::lineage::{Direction, Filter, NodeId};
use domain::record::ImportBatch;

/// One start: its id, closure size, 3-hop size, and (target, hops) pairs.
type Case = (String, usize, usize, Vec<(String, usize)>);

#[tokio::test]
async fn surreal_recursion_agrees_with_the_index() {
    let c = Catalog::connect("mem://").await.unwrap();
    let estate = domain::demo::power_law(3, 300, 3);
    c.import(
        ImportBatch {
            assets: estate.assets.clone(),
            edges: estate.edges.clone(),
        },
        vec![],
        "test",
    )
    .await
    .unwrap();
    let cases: Vec<Case> = {
        let g = c.graph();
        [0u32, 1, 7, 120, 299]
            .into_iter()
            .map(|n: NodeId| {
                let closure = g.closure(n, Direction::Downstream, &Filter::default());
                let hood = g.neighbourhood(n, 3, 51).nodes.len() - 1;
                let paths = closure
                    .iter()
                    .step_by(37)
                    .map(|&(to, _)| {
                        let hops = g.shortest_path(n, to).unwrap().len() - 1;
                        (g.asset_id(to).to_string(), hops)
                    })
                    .collect();
                (g.asset_id(n).to_string(), closure.len(), hood, paths)
            })
            .collect()
    };
    for (id, closure, hood, paths) in cases {
        assert_eq!(
            c.surreal_closure_size(&id).await.unwrap(),
            closure,
            "closure of {id}"
        );
        assert_eq!(
            c.surreal_neighbourhood_size(&id, 3, 50).await.unwrap(),
            hood,
            "3 hops around {id}"
        );
        for (to, hops) in paths {
            assert_eq!(
                c.surreal_shortest_path_len(&id, &to).await.unwrap(),
                Some(hops),
                "{id} to {to}"
            );
        }
    }
}
