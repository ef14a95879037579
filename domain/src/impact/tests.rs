use proptest::prelude::*;

use super::analysis::{csv_cell, step};
use super::*;
use std::collections::{BTreeMap, HashMap};

use crate::asset::asset_id;
use crate::asset::{Asset, AssetKind, Field};
use crate::edge::Edge;
use crate::edge::{edge_id, ColumnMapping, EdgeKind};
use AssetKind::*;
use EdgeKind::*;
use Severity::*;

fn asset(kind: AssetKind, name: &str, cols: &[&str], owners: &[&str]) -> Asset {
    Asset {
        id: id(kind, name),
        kind,
        namespace: "ns".into(),
        name: name.into(),
        description: String::new(),
        owners: owners.iter().map(|o| o.to_string()).collect(),
        tags: vec![],
        domain: None,
        schema: cols.iter().map(|c| Field::new(c, "int", false)).collect(),
        properties: Default::default(),
        version: 1,
        created_at: None,
        updated_at: None,
    }
}

fn edge(from: &Asset, kind: EdgeKind, to: &Asset, maps: &[(&str, &str)]) -> Edge {
    let map = |(f, t): &(&str, &str)| ColumnMapping {
        from: f.to_string(),
        to: t.to_string(),
        transform: None,
    };
    Edge {
        id: edge_id(&from.id, kind, &to.id),
        from: from.id.clone(),
        to: to.id.clone(),
        kind,
        columns: maps.iter().map(map).collect(),
        first_seen: None,
        last_seen: None,
    }
}

fn ch(json: &str) -> SchemaChange {
    serde_json::from_str(json).unwrap()
}

fn id(kind: AssetKind, name: &str) -> String {
    asset_id(kind, "ns", name)
}

fn find<'a>(r: &'a ImpactReport, id: &str) -> &'a AffectedAsset {
    r.affected.iter().find(|a| a.id == id).expect("affected")
}

fn names(r: &ImpactReport) -> Vec<&str> {
    r.affected.iter().map(|a| a.name.as_str()).collect()
}

fn plan(r: &ImpactReport) -> Vec<(&str, u32, bool)> {
    let p = r.refresh_plan.iter();
    p.map(|p| (p.name.as_str(), p.stage, p.in_cycle)).collect()
}

/// D feeds F1 (a→value) and F2 (b→value); F1 trains M (value→x), which is
/// deployed to the production service S; job W reads D and writes F2.
fn estate() -> (Vec<Asset>, Vec<Edge>) {
    let d = asset(Dataset, "d", &["a", "b"], &["dana"]);
    let f1 = asset(Feature, "f1", &["value"], &["fay"]);
    let f2 = asset(Feature, "f2", &["value"], &["fred"]);
    let m = asset(Model, "m", &["x"], &["mia"]);
    let mut s = asset(Service, "s", &[], &["sam"]);
    s.tags = vec!["production".into()];
    let w = asset(Workflow, "w", &[], &["wes"]);
    let edges = vec![
        edge(&d, Derives, &f1, &[("a", "value")]),
        edge(&d, Derives, &f2, &[("b", "value")]),
        edge(&f1, Trains, &m, &[("value", "x")]),
        edge(&m, Deploys, &s, &[]),
        edge(&d, Reads, &w, &[]),
        edge(&w, Writes, &f2, &[]),
    ];
    (vec![d, f1, f2, m, s, w], edges)
}

/// Changes in a terse notation: `op column key=value ...`, separated by
/// `;`, e.g. `rename a new_name=z; add c type=int nullable=false`.
fn chs(s: &str) -> Vec<SchemaChange> {
    let one = |c: &str| {
        let mut words = c.split_whitespace();
        let mut m = serde_json::Map::new();
        m.insert("op".into(), words.next().unwrap().into());
        m.insert("column".into(), words.next().unwrap().into());
        for w in words {
            let (k, v) = w.split_once('=').unwrap();
            m.insert(k.into(), v.parse::<bool>().map_or(v.into(), Into::into));
        }
        serde_json::from_value(m.into()).unwrap()
    };
    s.split(';')
        .filter(|c| !c.trim().is_empty())
        .map(one)
        .collect()
}

#[test]
fn dropping_a_column_follows_column_lineage_and_marks_the_rest_possibly() {
    let (assets, edges) = estate();
    let (d, f1, f2) = (id(Dataset, "d"), id(Feature, "f1"), id(Feature, "f2"));
    let (m, s, w) = (id(Model, "m"), id(Service, "s"), id(Workflow, "w"));
    let r = analyze(&d, &chs("drop a"), &assets, &edges).unwrap();
    // F2 reads only b from D, and W's write to it is process lineage.
    assert_eq!(names(&r), ["d", "f1", "w", "m", "s"]);
    assert_eq!(r.severity, Breaking);
    let root = &r.affected[0];
    assert_eq!((root.hops, root.severity), (0, Breaking));
    assert_eq!(root.columns, ["a"]);
    let model = find(&r, &m);
    assert_eq!(
        (model.hops, model.severity, model.possibly),
        (2, Breaking, false)
    );
    assert_eq!(model.columns, ["x"]);
    let chain = vec![step(&d, "a"), step(&f1, "value"), step(&m, "x")];
    assert_eq!(model.chains, [chain]);
    let svc = find(&r, &s);
    let got = (svc.hops, svc.severity, svc.possibly, svc.production);
    assert_eq!(got, (3, PossiblyBreaking, true, true));
    assert!(svc.columns.is_empty() && svc.chains.is_empty());
    assert_eq!(svc.via, [&*d, &f1, &m, &s]);
    let job = find(&r, &w);
    assert_eq!(
        (job.hops, job.severity, job.possibly),
        (1, PossiblyBreaking, true)
    );
    assert_eq!(job.via, [&*d, &w]);
    assert_eq!(r.services.iter().map(|s| &s.id).collect::<Vec<_>>(), [&s]);
    let owners: Vec<_> = r
        .owners
        .iter()
        .map(|o| (o.owner.as_str(), o.severity))
        .collect();
    let (b, p) = (Breaking, PossiblyBreaking);
    assert_eq!(
        owners,
        [("dana", b), ("fay", b), ("mia", b), ("sam", p), ("wes", p)]
    );
    let want = [
        ("d", 0, false),
        ("f1", 1, false),
        ("w", 1, false),
        ("m", 2, false),
    ];
    assert_eq!(plan(&r)[..4], want);
    assert_eq!(plan(&r)[4], ("s", 3, false));
    let counts: Vec<_> = r
        .counts
        .iter()
        .map(|c| (c.kind, c.severity, c.count))
        .collect();
    assert_eq!(
        counts[..3],
        [(Dataset, b, 1), (Feature, b, 1), (Model, b, 1)]
    );
    assert!(counts.contains(&(Service, p, 1)) && counts.contains(&(Workflow, p, 1)));

    // Without column lineage from D into F2, the job's write is all we know.
    let edges: Vec<Edge> = edges
        .into_iter()
        .filter(|e| e.to != f2 || e.kind != Derives)
        .collect();
    let r = analyze(&d, &chs("drop a"), &assets, &edges).unwrap();
    let hit = find(&r, &f2);
    assert_eq!((hit.hops, hit.possibly), (2, true));
    assert_eq!(hit.via, [&*d, &w, &f2]);
}

#[test]
fn severities_follow_the_kind_of_change() {
    let (assets, edges) = estate();
    let d = id(Dataset, "d");
    let run = |s: &str| analyze(&d, &chs(s), &assets, &edges).unwrap();
    let r = run("add c type=int");
    assert_eq!((names(&r), r.severity), (vec!["d"], NonBreaking));
    assert_eq!(r.affected[0].columns, ["c"]);
    assert!(r.services.is_empty());
    assert_eq!(r.owners.len(), 1, "the root's owners still hear of it");
    // A NOT NULL add reaches only unmapped readers; W's write to F2 is
    // still process lineage.
    let r = run("add c type=int nullable=false");
    assert_eq!((names(&r), r.severity), (vec!["d", "w"], PossiblyBreaking));
    let r = run("rename a new_name=z");
    assert_eq!(find(&r, &id(Model, "m")).severity, Breaking);
    let r = run("retype a type=BIGINT");
    assert_eq!(r.severity, PossiblyBreaking);
    assert_eq!(find(&r, &id(Model, "m")).columns, ["x"]);
    assert_eq!(run("retype a type=string").severity, Breaking);
    assert_eq!(
        run("nullability a nullable=true").severity,
        PossiblyBreaking
    );

    for (ty, nullable, change, want) in [
        ("int32", true, "retype a type=int64", PossiblyBreaking),
        ("real", true, "retype a type=Double", PossiblyBreaking),
        ("smallint", true, "retype a type=int", PossiblyBreaking),
        ("bigint", true, "retype a type=int", Breaking),
        ("int", true, "retype a type=double", Breaking),
        ("int", true, "retype a type=string", Breaking),
        ("int", false, "nullability a nullable=false", NonBreaking),
        (
            "int",
            false,
            "nullability a nullable=true",
            PossiblyBreaking,
        ),
        (
            "int",
            false,
            "add b type=int nullable=false",
            PossiblyBreaking,
        ),
        ("int", false, "add b type=int nullable=true", NonBreaking),
        ("int", false, "rename a new_name=b", Breaking),
    ] {
        let old = Field::new("a", ty, nullable);
        assert_eq!(
            change_severity(Some(&old), &chs(change)[0]),
            want,
            "{ty} {change}"
        );
    }
    assert_eq!(
        change_severity(None, &chs("retype a type=bigint")[0]),
        Breaking
    );
    assert_eq!(PossiblyBreaking.as_str(), "possibly-breaking");
    assert_eq!(PossiblyBreaking.label(), "possibly breaking");
}

#[test]
fn validation_names_the_offending_change() {
    let schema = [Field::new("a", "int", false), Field::new("b", "int", true)];
    for (changes, field) in [
        ("", "changes"),
        ("drop a; drop a", "changes[1].column"),
        ("drop a; add a type=int", "changes[1].column"),
        ("drop zz", "changes[0].column"),
        ("add a type=int", "changes[0].column"),
        ("add c", "changes[0].type"),
        ("drop a type=int", "changes[0].type"),
        ("drop a new_name=z", "changes[0].new_name"),
        ("retype a nullable=true type=bigint", "changes[0].nullable"),
        ("drop a; rename b", "changes[1].new_name"),
        ("rename b new_name=a", "changes[0].new_name"),
        ("drop a; rename b new_name=a", "changes[1].new_name"),
        ("rename a new_name=z; drop z", "changes[1].column"),
        ("retype a type=INT", "changes[0].type"),
        ("nullability a nullable=false", "changes[0].nullable"),
        ("nullability a", "changes[0].nullable"),
    ] {
        let err = validate_changes(&schema, &chs(changes)).unwrap_err();
        assert_eq!(err.field, field, "{changes}: {err}");
    }
    let blank = validate_changes(&schema, &[ch(r#"{"op":"drop","column":" "}"#)]);
    assert_eq!(blank.unwrap_err().field, "changes[0].column");
    let (assets, edges) = estate();
    let err = |root: &str| analyze(root, &chs("drop zz"), &assets, &edges).unwrap_err();
    assert_eq!(err("dataset:ns:nope").field, "dataset");
    assert_eq!(err(&id(Feature, "f1")).field, "dataset");
    assert_eq!(err(&id(Dataset, "d")).field, "changes[0].column");
}

#[test]
fn apply_changes_produces_the_new_schema() {
    let mut a = Field::new("a", "int", false);
    a.description = "kept".into();
    let schema = [
        a,
        Field::new("b", "int", true),
        Field::new("c", "int", true),
    ];
    let changes = chs(
        "rename a new_name=z; retype b type=bigint; drop c; add d type=string; \
         add e type=int nullable=false",
    );
    let mut z = Field::new("z", "int", false);
    z.description = "kept".into();
    let (b, d) = (
        Field::new("b", "bigint", true),
        Field::new("d", "string", true),
    );
    let got = apply_changes(&schema, &changes).unwrap();
    assert_eq!(got, [z, b, d, Field::new("e", "int", false)]);
    let flipped = apply_changes(&schema, &chs("nullability b nullable=false")).unwrap();
    assert!(!flipped[1].nullable);
}

#[test]
fn cycles_terminate_and_are_flagged_in_the_plan() {
    let d = asset(Dataset, "d", &["a"], &[]);
    let x = asset(Dataset, "x", &["a"], &[]);
    let y = asset(Dataset, "y", &["a"], &[]);
    let z = asset(Feature, "z", &["v"], &[]);
    let mut edges = vec![
        edge(&d, Derives, &x, &[("a", "a")]),
        edge(&x, Derives, &y, &[("a", "a")]),
        edge(&y, Derives, &x, &[("a", "a")]),
        edge(&y, Derives, &z, &[]),
    ];
    let assets = [d.clone(), x, y.clone(), z];
    let r = analyze(&d.id, &chs("drop a"), &assets, &edges).unwrap();
    let want = [
        ("d", 0, false),
        ("x", 1, true),
        ("y", 1, true),
        ("z", 1, true),
    ];
    assert_eq!(plan(&r), want);
    assert_eq!(find(&r, &y.id).chains[0].len(), 3);
    assert_eq!(find(&r, &id(Feature, "z")).hops, 3);

    // A cycle back into the root reaches another of its columns.
    edges.push(edge(&y, Derives, &d, &[("a", "b")]));
    let r = analyze(&d.id, &chs("drop a"), &assets, &edges).unwrap();
    assert_eq!(r.affected[0].columns, ["a", "b"]);
    assert_eq!(r.affected[0].chains[1].len(), 4);
    assert!(r.refresh_plan.iter().all(|p| p.in_cycle));
}

#[test]
fn csv_quotes_cells_and_defuses_formulas() {
    for (cell, want) in [
        ("plain", "plain"),
        ("a,b", "\"a,b\""),
        ("say \"hi\"", "\"say \"\"hi\"\"\""),
        ("a\nb", "\"a\nb\""),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("\tx", "'\tx"),
        ("\rx", "\"'\rx\""),
    ] {
        assert_eq!(csv_cell(cell), want);
    }
    let d = asset(Dataset, "d", &["a"], &["-ops"]);
    let f = asset(Feature, "=HYPERLINK(\"x\"),y", &["value"], &["ann", "bob"]);
    let edges = [edge(&d, Derives, &f, &[("a", "value")])];
    let r = analyze(&d.id, &chs("drop a"), &[d.clone(), f.clone()], &edges).unwrap();
    let csv = r.to_csv();
    let lines: Vec<&str> = csv.split("\r\n").collect();
    assert_eq!((lines.len(), lines[3]), (4, ""), "every row ends in CRLF");
    let header = "id,kind,name,hops,severity,possibly,production,columns,owners,chain";
    let root = "dataset:ns:d,dataset,d,0,breaking,false,false,a,'-ops,dataset:ns:d.a";
    assert_eq!(lines[..2], [header, root]);
    let fid = f.id.replace('"', "\"\"");
    let want = format!(
        "\"{fid}\",feature,\"'=HYPERLINK(\"\"x\"\"),y\",1,breaking,false,false,value,ann;bob,\"dataset:ns:d.a > {fid}.value\""
    );
    assert_eq!(lines[2], want);
}

#[test]
fn schema_changes_round_trip_and_reject_unknown_fields() {
    for json in [
        r#"{"op":"rename","column":"a","new_name":"b"}"#,
        r#"{"op":"add","column":"c","type":"int","nullable":false}"#,
        r#"{"op":"retype","column":"a","type":"long"}"#,
        r#"{"op":"drop","column":"a"}"#,
    ] {
        assert_eq!(serde_json::to_string(&ch(json)).unwrap(), json);
    }
    let retype = ch(r#"{"op":"retype","column":"a","type":"long"}"#);
    assert_eq!(retype.data_type.as_deref(), Some("long"));
    let parse = serde_json::from_str::<SchemaChange>;
    assert!(parse(r#"{"op":"drop","column":"a","extra":1}"#).is_err());
    assert!(parse(r#"{"op":"explode","column":"a"}"#).is_err());
    let sev = serde_json::to_string(&PossiblyBreaking).unwrap();
    assert_eq!(sev, "\"possibly-breaking\"");
}

#[test]
fn production_is_recognised_from_tags_properties_and_namespaces() {
    let mut a = asset(Dataset, "t", &[], &[]);
    a.namespace = "prod-db".into();
    assert!(!is_production(&a), "only services count their namespace");
    a.tags = vec!["Prod".into()];
    assert!(is_production(&a));
    let mut m = asset(Model, "m", &[], &[]);
    m.properties.insert("env".into(), "PRODUCTION".into());
    assert!(is_production(&m));
    m.properties.insert("env".into(), "staging".into());
    assert!(!is_production(&m));
    let mut s = asset(Service, "s", &[], &[]);
    s.namespace = "serving-prod".into();
    assert!(is_production(&s));
}

#[test]
fn in_the_demo_estate_a_dropped_column_reaches_a_production_service() {
    let e = crate::demo::demo();
    let kind: HashMap<&str, AssetKind> = e.assets.iter().map(|a| (a.id.as_str(), a.kind)).collect();
    let first = |k: EdgeKind, from: &str| e.edges.iter().find(|x| x.kind == k && x.from == from);
    // The first table column that feeds a feature which trains a
    // deployed model.
    let (derive, column, train, input, deploy) = e
        .edges
        .iter()
        .filter(|x| {
            x.kind == Derives && kind[x.from.as_str()] == Dataset && kind[x.to.as_str()] == Feature
        })
        .find_map(|x| {
            let column = &x.columns.iter().find(|m| m.to == "value")?.from;
            let train = first(Trains, &x.to)?;
            let input = &train.columns.iter().find(|m| m.from == "value")?.to;
            Some((x, column, train, input, first(Deploys, &train.to)?))
        })
        .expect("the demo has such a chain");
    let drop = chs(&format!("drop {column}"));
    let r = analyze(&derive.from, &drop, &e.assets, &e.edges).unwrap();
    let svc = r
        .services
        .iter()
        .find(|s| s.id == deploy.to)
        .expect("the service is hit");
    assert!(svc.production && r.services[0].production);
    assert_eq!(svc.severity, PossiblyBreaking);
    let m = find(&r, &train.to);
    let i = m.columns.iter().position(|c| c == input).unwrap();
    let chain = [
        step(&derive.from, column),
        step(&derive.to, "value"),
        step(&train.to, input),
    ];
    assert_eq!(m.chains[i], chain);
    assert_eq!(r.refresh_plan.len(), r.affected.len());
    assert_eq!(r.refresh_plan[0].id, derive.from);
}

type Link = (usize, usize, Vec<(String, String)>);
/// Per asset: affected columns with (severity, distance); possibly flags; hops.
type Naive = (
    Vec<BTreeMap<String, (Severity, usize)>>,
    Vec<bool>,
    Vec<Option<u32>>,
);

/// The reference: every fixpoint by sweeping all edges until nothing
/// changes, with Bellman-Ford style shortest distances.
fn naive(n: usize, links: &[Link], seeds: &[(String, Severity)]) -> Naive {
    let mut cols = vec![BTreeMap::new(); n];
    for (c, s) in seeds.iter().filter(|s| s.1 > NonBreaking) {
        cols[0].insert(c.clone(), (*s, 0));
    }
    let mut changed = true;
    while std::mem::take(&mut changed) {
        for (u, v, maps) in links {
            for (f, t) in maps {
                let Some(&(s, d)) = cols[*u].get(f) else {
                    continue;
                };
                let cur = cols[*v].get(t).copied();
                let new = cur.map_or((s, d + 1), |(s2, d2): (Severity, usize)| {
                    (s.max(s2), d2.min(d + 1))
                });
                if cur != Some(new) {
                    cols[*v].insert(t.clone(), new);
                    changed = true;
                }
            }
        }
    }
    let sends = |pos: &[bool], u: usize, maps: &[(String, String)]| {
        pos[u] || (maps.is_empty() && !cols[u].is_empty())
    };
    let mut pos = vec![false; n];
    changed = true;
    while std::mem::take(&mut changed) {
        for (u, v, maps) in links {
            if sends(&pos, *u, maps) && !pos[*v] {
                (pos[*v], changed) = (true, true);
            }
        }
    }
    let mut hops = vec![None; n];
    hops[0] = Some(0);
    changed = true;
    while std::mem::take(&mut changed) {
        for (u, v, maps) in links {
            let effect =
                sends(&pos, *u, maps) || maps.iter().any(|(f, _)| cols[*u].contains_key(f));
            if let (Some(h), true) = (hops[*u], effect) {
                if hops[*v].is_none_or(|hv| hv > h + 1) {
                    (hops[*v], changed) = (Some(h + 1), true);
                }
            }
        }
    }
    (cols, pos, hops)
}

type RawEdge = (usize, usize, Vec<(usize, usize)>);

fn graphs() -> impl Strategy<Value = (usize, Vec<u8>, Vec<RawEdge>, Vec<Option<u8>>)> {
    (2usize..7).prop_flat_map(|n| {
        let maps = prop::collection::vec((0usize..3, 0usize..3), 0..3);
        let kinds = prop::collection::vec(0u8..4, n);
        let edges = prop::collection::vec((0..n, 0..n, maps), 0..14);
        (
            Just(n),
            kinds,
            edges,
            prop::collection::vec(prop::option::of(0u8..7), 3),
        )
    })
}

/// Change `code` to column `c{k}` of the root, whose columns are NOT NULL ints.
fn random_change(k: usize, code: u8) -> SchemaChange {
    let spec = match code {
        0 => format!("drop c{k}"),
        1 => format!("rename c{k} new_name=r{k}"),
        2 => format!("retype c{k} type=bigint"),
        3 => format!("retype c{k} type=string"),
        4 => format!("nullability c{k} nullable=true"),
        _ => format!("add n{k} type=int nullable={}", code == 5),
    };
    chs(&spec).remove(0)
}

proptest! {
    /// Column-precise propagation, possibly-marks, hops, chains and paths
    /// agree with the reference on small random graphs (no workflows, so
    /// the process-lineage rule never applies).
    #[test]
    fn propagation_matches_the_naive_reference((n, codes, raw, ops) in graphs()) {
        let kinds = [Dataset, Feature, Model, Service];
        let assets: Vec<Asset> = (0..n)
            .map(|i| asset(if i == 0 { Dataset } else { kinds[codes[i] as usize] }, &format!("n{i}"), &["c0", "c1", "c2"], &[]))
            .collect();
        let links: Vec<Link> = raw
            .iter()
            .map(|(u, v, m)| (*u, *v, m.iter().map(|(f, t)| (format!("c{f}"), format!("c{t}"))).collect()))
            .collect();
        let edges: Vec<Edge> = links
            .iter()
            .enumerate()
            .map(|(i, (u, v, m))| {
                let maps: Vec<(&str, &str)> = m.iter().map(|(f, t)| (f.as_str(), t.as_str())).collect();
                Edge { id: format!("e{i}"), ..edge(&assets[*u], Derives, &assets[*v], &maps) }
            })
            .collect();
        let mut changes: Vec<SchemaChange> =
            ops.iter().enumerate().filter_map(|(k, op)| Some(random_change(k, (*op)?))).collect();
        if changes.is_empty() {
            changes = chs("drop c0");
        }
        let seeds: Vec<(String, Severity)> =
            changes.iter().map(|c| (c.column.clone(), change_severity(assets[0].column(&c.column), c))).collect();
        let r = analyze(&assets[0].id, &changes, &assets, &edges).unwrap();
        let (cols, pos, hops) = naive(n, &links, &seeds);
        let reached: Vec<usize> = (0..n).filter(|&i| hops[i].is_some()).collect();
        prop_assert_eq!(r.affected.len(), reached.len());
        prop_assert_eq!(r.refresh_plan.len(), reached.len());
        for i in reached {
            let a = find(&r, &assets[i].id);
            prop_assert_eq!(Some(a.hops), hops[i]);
            prop_assert_eq!(a.possibly, pos[i]);
            let mut want: BTreeMap<&str, Severity> = cols[i].iter().map(|(c, s)| (c.as_str(), s.0)).collect();
            if i == 0 {
                for (c, s) in &seeds {
                    let e = want.entry(c.as_str()).or_insert(*s);
                    *e = (*e).max(*s);
                }
            }
            let sev = want.values().copied().chain(pos[i].then_some(PossiblyBreaking)).max().unwrap();
            prop_assert_eq!(a.severity, sev);
            prop_assert_eq!(a.columns.iter().map(String::as_str).collect::<Vec<_>>(), want.keys().copied().collect::<Vec<_>>());
            for (c, chain) in a.columns.iter().zip(&a.chains) {
                prop_assert_eq!(chain.last().unwrap(), &step(&assets[i].id, c));
                prop_assert_eq!(&chain[0].asset, &assets[0].id);
                prop_assert!(seeds.iter().any(|s| s.0 == chain[0].column));
                prop_assert_eq!(chain.len(), cols[i].get(c).map_or(0, |s| s.1) + 1, "chains are shortest");
                for w in chain.windows(2) {
                    prop_assert!(edges.iter().any(|e| e.from == w[0].asset && e.to == w[1].asset
                        && e.columns.iter().any(|m| m.from == w[0].column && m.to == w[1].column)));
                }
            }
            if a.possibly {
                prop_assert_eq!(a.via.len() as u32, a.hops + 1);
                prop_assert_eq!(a.via.last().unwrap(), &assets[i].id);
                prop_assert!(a.via.windows(2).all(|w| edges.iter().any(|e| e.from == w[0] && e.to == w[1])));
            }
        }
    }
}

proptest! {
    /// A report bounded while it is built equals the whole report cut
    /// afterwards, on random graphs with workflows, owners and production
    /// services.
    #[test]
    fn a_report_bounded_while_built_equals_the_whole_one_cut(
        (n, codes, raw, ops) in graphs(),
        per_hop in 0usize..4,
        rows in 0usize..4,
        owners in prop::collection::vec(0u8..4, 7),
    ) {
        let kinds = [Dataset, Workflow, Service, Application];
        let names = ["ann", "bo", "cy"];
        let assets: Vec<Asset> = (0..n)
            .map(|i| {
                let mine: Vec<&str> = names.iter().enumerate().filter(|(k, _)| owners[i] & (1 << k) != 0).map(|(_, o)| *o).collect();
                let mut a = asset(if i == 0 { Dataset } else { kinds[codes[i] as usize] }, &format!("n{}", i % 3), &["c0", "c1", "c2"], &mine);
                a.id = format!("{}{i}", a.id);
                if i % 2 == 0 {
                    a.tags.push("production".into());
                }
                a
            })
            .collect();
        let edges: Vec<Edge> = raw
            .iter()
            .map(|(u, v, m)| {
                let maps: Vec<(String, String)> = m.iter().map(|(f, t)| (format!("c{f}"), format!("c{t}"))).collect();
                let maps: Vec<(&str, &str)> = maps.iter().map(|(f, t)| (f.as_str(), t.as_str())).collect();
                edge(&assets[*u], if *v % 2 == 0 { Derives } else { Writes }, &assets[*v], &maps)
            })
            .collect();
        let mut changes: Vec<SchemaChange> =
            ops.iter().enumerate().filter_map(|(k, op)| Some(random_change(k, (*op)?))).collect();
        if changes.is_empty() {
            changes = chs("drop c0");
        }
        let full = analyze(&assets[0].id, &changes, &assets, &edges).unwrap();
        let limits = Limits { per_hop, rows };
        let cut = analyze_limited(&assets[0].id, &changes, &assets, &edges, &is_production, Some(limits)).unwrap();
        prop_assert_eq!(cut.clone(), full.clone().bounded(per_hop, rows));
        // A bounded report that cut nothing is the whole report.
        let big = Limits { per_hop: usize::MAX, rows: usize::MAX };
        let uncut = analyze_limited(&assets[0].id, &changes, &assets, &edges, &is_production, Some(big)).unwrap();
        prop_assert_eq!(uncut.whole_if_complete(), full.clone());
        let was_cut = cut.affected.len() < full.affected.len()
            || cut.services.len() < full.services.len()
            || cut.refresh_plan.len() < full.refresh_plan.len()
            || cut.owners.iter().any(|o| o.assets_total.is_some_and(|t| t > o.assets.len()));
        prop_assert_eq!(cut.whole_if_complete().bounded.is_some(), was_cut);
    }
}

#[test]
fn a_bounded_report_keeps_the_first_rows_of_each_hop_and_every_total() {
    let (assets, edges) = estate();
    let d = id(Dataset, "d");
    let full = analyze(&d, &chs("drop a"), &assets, &edges).unwrap();
    let cut = full.clone().bounded(1, 1);
    // One row per hop: d (0), then the first of hop 1 and of hop 2 and 3.
    let hops: Vec<u32> = cut.affected.iter().map(|a| a.hops).collect();
    assert_eq!(hops, [0, 1, 2, 3]);
    assert_eq!(cut.affected_total(), full.affected_total());
    assert_eq!(full.affected_total(), full.affected.len() - 1);
    let b = cut.bounded.as_ref().unwrap();
    assert_eq!(
        b.hops.iter().map(|&(_, n)| n).sum::<usize>(),
        full.affected.len()
    );
    assert_eq!(b.refresh_plan, full.refresh_plan.len());
    assert!(cut.refresh_plan.len() <= 1 && cut.services.len() <= 1);
    assert_eq!(cut.counts, full.counts);
    assert_eq!(cut.owners.len(), full.owners.len());
    for (c, f) in cut.owners.iter().zip(&full.owners) {
        assert_eq!((&c.owner, c.severity), (&f.owner, f.severity));
        assert_eq!(c.asset_count(), f.assets.len());
        assert_eq!(c.assets[..], f.assets[..c.assets.len()]);
        assert!(c.assets.len() <= 1);
    }
    // Every row kept is the full report's, in its order.
    let kept: Vec<&str> = cut.affected.iter().map(|a| a.id.as_str()).collect();
    let order: Vec<&str> = full
        .affected
        .iter()
        .map(|a| a.id.as_str())
        .filter(|i| kept.contains(i))
        .collect();
    assert_eq!(kept, order);
}
